/**
 * Training, for every signed-in person linked to the staff directory: my courses with due dates,
 * the course reader, the quiz (graded by the server, with explanations), results and certificates;
 * and, for managers and administrators, the team's completion, overdue list and risk.
 * Paths: /training, /training/courses/:id, /training/courses/:id/quiz, /training/results,
 * /training/team.
 */
import { type FormEvent, useState } from 'react';
import { awarenessApi } from '../awareness-api.js';
import {
  type Enrolment,
  type LearnerCourse,
  type Me,
  type QuizAnswers,
  type QuizResult,
  STATUS_BADGES,
  STATUS_LABELS,
  type TeamReport,
} from '../awareness-types.js';
import { Banner } from '../components/Banner.js';
import { formatDateTime } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link, usePath } from '../router.js';
import type { SessionUser } from '../types.js';
import { usePoll } from '../usePoll.js';
import '../styles/training.css';

type View =
  | { kind: 'home' }
  | { kind: 'course'; courseId: string }
  | { kind: 'quiz'; courseId: string }
  | { kind: 'results' }
  | { kind: 'team' }
  | { kind: 'missing' };

function viewOf(path: string): View {
  const rest = path.replace(/^\/training\/?/, '').replace(/\/+$/, '');
  if (rest === '') return { kind: 'home' };
  if (rest === 'results') return { kind: 'results' };
  if (rest === 'team') return { kind: 'team' };
  const m = /^courses\/([^/]+)(\/quiz)?$/.exec(rest);
  if (m) {
    let courseId = m[1]!;
    try {
      courseId = decodeURIComponent(courseId);
    } catch {
      return { kind: 'missing' };
    }
    return m[2] ? { kind: 'quiz', courseId } : { kind: 'course', courseId };
  }
  return { kind: 'missing' };
}

const coursePath = (id: string) => `/training/courses/${encodeURIComponent(id)}`;

export function StatusBadge({ status }: { status: Enrolment['status'] }) {
  return (
    <span className={`badge ${STATUS_BADGES[status]}`} data-status={status}>
      {STATUS_LABELS[status]}
    </span>
  );
}

function formatDay(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function Training({ user }: { user: SessionUser }) {
  const path = usePath();
  const view = viewOf(path);
  const me = usePoll(awarenessApi.me, 0, user.id);
  const canTeam = Boolean(me.data && (me.data.manages || me.data.seesAllDepartments));
  const tabs = [
    { to: '/training', label: 'My training', active: view.kind === 'home' },
    { to: '/training/results', label: 'Results and certificates', active: view.kind === 'results' },
    ...(canTeam ? [{ to: '/training/team', label: 'Team', active: view.kind === 'team' }] : []),
  ];
  return (
    <div className="page training">
      <nav className="training-tabs" aria-label="Training">
        {tabs.map((t) => (
          <Link
            key={t.to}
            to={t.to}
            className={`training-tab${t.active ? ' is-active' : ''}`}
            aria-current={t.active ? 'page' : undefined}
            data-testid={`training-tab-${t.to.split('/')[2] ?? 'home'}`}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {me.error ? <Banner kind="error">{me.error}</Banner> : null}
      {view.kind === 'team' ? (
        canTeam || !me.data ? (
          <TeamView me={me.data} />
        ) : (
          <Banner kind="info">The team view is for people who manage others.</Banner>
        )
      ) : me.data && !me.data.person ? (
        <NotLinked />
      ) : view.kind === 'home' ? (
        <MyTraining me={me.data} />
      ) : view.kind === 'course' ? (
        <CourseReader courseId={view.courseId} />
      ) : view.kind === 'quiz' ? (
        <QuizView courseId={view.courseId} />
      ) : view.kind === 'results' ? (
        <Results />
      ) : (
        <Banner kind="error">This training page does not exist.</Banner>
      )}
    </div>
  );
}

function NotLinked() {
  useDocumentTitle('Training');
  return (
    <>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>My training</h1>
        </div>
      </header>
      <Banner kind="info" testId="training-not-linked">
        Your console account is not linked to a person in the staff directory, so no training is assigned to
        you. Ask an administrator to link your account.
      </Banner>
    </>
  );
}

function MyTraining({ me }: { me: Me | undefined }) {
  useDocumentTitle('My training');
  const { data, error, loading } = usePoll(awarenessApi.myCourses, 0);
  // The next cycle of a passed recurring course is shown, but after the courses due now.
  const sorted = [...(data ?? [])].sort((a, b) => {
    const rank = (e: Enrolment) => (e.status === 'overdue' ? 0 : e.status === 'passed' ? 2 : 1);
    return rank(a) - rank(b) || a.dueAt.localeCompare(b.dueAt);
  });
  const overdue = sorted.filter((e) => e.status === 'overdue').length;
  return (
    <>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>My training</h1>
          <p className="page-lede">
            {me?.person
              ? `${me.person.name}${me.person.department ? `, ${me.person.department}` : ''}. `
              : ''}
            Short courses on the cyber risks of hospital work, each with a quiz.
          </p>
        </div>
      </header>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {overdue ? (
        <Banner kind="warning" testId="training-overdue">
          {overdue === 1 ? 'One course is overdue.' : `${overdue} courses are overdue.`} Please complete{' '}
          {overdue === 1 ? 'it' : 'them'} as soon as you can.
        </Banner>
      ) : null}
      <section className="panel panel-flush" aria-labelledby="my-courses-title">
        <h2 id="my-courses-title" className="visually-hidden">
          My courses
        </h2>
        {data === undefined ? (
          <p className="empty">{loading ? 'Loading your courses…' : 'Your courses could not be loaded.'}</p>
        ) : sorted.length === 0 ? (
          <p className="empty" data-testid="training-empty">
            No training is assigned to you at the moment.
          </p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="my-courses">
              <thead>
                <tr>
                  <th scope="col">Course</th>
                  <th scope="col">Due</th>
                  <th scope="col">Status</th>
                  <th scope="col">Best score</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((e) => (
                  <tr key={e.id} data-testid="my-course" data-course={e.courseId} data-status={e.status}>
                    <th scope="row">
                      <span className="cell-title">{e.courseTitle}</span>
                    </th>
                    <td className="nowrap">{formatDay(e.dueAt)}</td>
                    <td>
                      <StatusBadge status={e.status} />
                    </td>
                    <td>{e.bestScore === null ? <span className="muted">—</span> : `${e.bestScore}%`}</td>
                    <td className="actions">
                      <Link
                        to={coursePath(e.courseId)}
                        className="button button-small button-secondary"
                        data-testid="open-course"
                      >
                        {e.status === 'passed'
                          ? 'Read again'
                          : e.status === 'assigned'
                            ? 'Start'
                            : 'Continue'}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function CourseReader({ courseId }: { courseId: string }) {
  const { data: course, error, loading } = usePoll(() => awarenessApi.course(courseId), 0, courseId);
  useDocumentTitle(course?.title ?? 'Course');
  return (
    <>
      <p className="training-back">
        <Link to="/training">← My training</Link>
      </p>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {course ? (
        <article className="course" data-testid="course">
          <header className="page-header">
            <div>
              <h1 tabIndex={-1}>{course.title}</h1>
              <p className="page-lede">
                {course.summary} About {course.duration} minutes. Pass mark {course.passMark}%.
              </p>
            </div>
          </header>
          <CourseBody course={course} />
          <footer className="course-footer">
            <Link
              to={`${coursePath(course.id)}/quiz`}
              className="button button-primary"
              data-testid="take-quiz"
            >
              Take the quiz ({course.quiz.questions.length} questions)
            </Link>
          </footer>
        </article>
      ) : (
        <p className="empty">{loading ? 'Loading the course…' : null}</p>
      )}
    </>
  );
}

/**
 * The course text. The server renders the Markdown itself with a renderer that has no raw-HTML
 * mode: every character of the source is escaped, only its own tags are written, and links are
 * http(s), mailto or relative. That sanitised HTML, and nothing else, is inserted here.
 */
function CourseBody({ course }: { course: LearnerCourse }) {
  return (
    <div
      className="panel course-body"
      data-testid="course-body"
      // biome-ignore lint/security/noDangerouslySetInnerHtml: the server's sanitised rendering (awareness/markdown.ts).
      dangerouslySetInnerHTML={{ __html: course.html }}
    />
  );
}

function QuizView({ courseId }: { courseId: string }) {
  const { data: course, error: loadError } = usePoll(() => awarenessApi.course(courseId), 0, courseId);
  useDocumentTitle(course ? `Quiz: ${course.title}` : 'Quiz');
  const [answers, setAnswers] = useState<QuizAnswers>({});
  const [result, setResult] = useState<QuizResult>();
  const { busy, error, run } = useSubmit();
  const questions = course?.quiz.questions ?? [];
  const unanswered = questions.filter((q) => {
    const a = answers[q.id];
    return a === undefined || (Array.isArray(a) && a.length === 0);
  }).length;

  const choose = (questionId: string, optionId: string, multiple: boolean, checked: boolean) => {
    setAnswers((prev) => {
      if (!multiple) return { ...prev, [questionId]: optionId };
      const current = Array.isArray(prev[questionId]) ? (prev[questionId] as string[]) : [];
      const next = checked ? [...current, optionId] : current.filter((x) => x !== optionId);
      return { ...prev, [questionId]: next };
    });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!course) return;
    void run(async () => {
      setResult(await awarenessApi.submitQuiz(course.id, answers));
      window.scrollTo(0, 0);
    });
  };

  const retry = () => {
    setResult(undefined);
    setAnswers({});
  };

  const verdict = new Map(result?.perQuestion.map((p) => [p.id, p]));
  return (
    <>
      <p className="training-back">
        <Link to={coursePath(courseId)}>← Back to the course</Link>
      </p>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>{course ? `Quiz: ${course.title}` : 'Quiz'}</h1>
          {course ? (
            <p className="page-lede">
              {questions.length} questions. You pass with {course.passMark}% or more. Some questions have more
              than one right answer: choose all of them.
            </p>
          ) : null}
        </div>
      </header>
      {loadError ? <Banner kind="error">{loadError}</Banner> : null}
      {result ? (
        <div
          className={`panel quiz-result ${result.passed ? 'is-passed' : 'is-failed'}`}
          data-testid="quiz-result"
          data-passed={result.passed}
          role="status"
        >
          <h2>{result.passed ? 'You passed' : 'Not passed this time'}</h2>
          <p>
            Your score: <strong data-testid="quiz-score">{result.score}%</strong> ({result.correctCount} of{' '}
            {result.total} right).{' '}
            {result.passed
              ? 'Your certificate is ready.'
              : 'Read the explanations below, then try again: every attempt is kept, your best one counts.'}
          </p>
          <div className="button-row">
            {result.passed ? (
              <a
                className="button button-primary"
                href={awarenessApi.certificateUrl(result.attemptId)}
                target="_blank"
                rel="noopener"
                data-testid="open-certificate"
              >
                Open the certificate
              </a>
            ) : (
              <button
                type="button"
                className="button button-primary"
                onClick={retry}
                data-testid="quiz-retry"
              >
                Try again
              </button>
            )}
            <Link to="/training" className="button button-secondary">
              Back to my training
            </Link>
          </div>
        </div>
      ) : null}
      {course ? (
        <form className="quiz" onSubmit={submit} data-testid="quiz">
          {questions.map((q, index) => {
            const v = verdict.get(q.id);
            return (
              <fieldset
                key={q.id}
                className={`panel quiz-question${v ? (v.correct ? ' is-correct' : ' is-wrong') : ''}`}
                data-testid="quiz-question"
                data-question={q.id}
                disabled={Boolean(result) || busy}
              >
                <legend>
                  <span className="quiz-number">Question {index + 1}</span> {q.prompt}
                  {q.multiple ? <span className="field-hint"> Choose all that apply.</span> : null}
                </legend>
                {q.options.map((o) => {
                  const a = answers[q.id];
                  const checked = q.multiple ? Array.isArray(a) && a.includes(o.id) : a === o.id;
                  return (
                    <label key={o.id} className="check quiz-option">
                      <input
                        type={q.multiple ? 'checkbox' : 'radio'}
                        name={`q-${q.id}`}
                        value={o.id}
                        checked={checked}
                        onChange={(e) => choose(q.id, o.id, q.multiple, e.target.checked)}
                        data-testid={`option-${q.id}-${o.id}`}
                      />
                      <span>{o.text}</span>
                    </label>
                  );
                })}
                {v ? (
                  <p className="quiz-explanation" data-testid="quiz-explanation">
                    <strong>{v.correct ? 'Right.' : 'Not quite.'}</strong> {v.explanation}
                  </p>
                ) : null}
              </fieldset>
            );
          })}
          {error ? <Banner kind="error">{error}</Banner> : null}
          {!result ? (
            <div className="button-row">
              <button
                type="submit"
                className="button button-primary"
                disabled={busy || unanswered > 0}
                data-testid="quiz-submit"
              >
                {busy ? 'Checking…' : 'Submit answers'}
              </button>
              {unanswered > 0 ? (
                <span className="muted">
                  {unanswered} question{unanswered === 1 ? '' : 's'} left to answer
                </span>
              ) : null}
            </div>
          ) : null}
        </form>
      ) : null}
    </>
  );
}

function Results() {
  useDocumentTitle('Results and certificates');
  const certs = usePoll(awarenessApi.certificates, 0);
  const attempts = usePoll(awarenessApi.results, 0);
  const courses = usePoll(awarenessApi.courses, 0);
  const titles = new Map(courses.data?.map((c) => [c.id, c.title]));
  return (
    <>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Results and certificates</h1>
          <p className="page-lede">
            Every quiz you have taken, and a printable certificate for each course passed.
          </p>
        </div>
      </header>
      {certs.error ? <Banner kind="error">{certs.error}</Banner> : null}
      <section className="panel" aria-labelledby="certs-title">
        <h2 id="certs-title" className="panel-title">
          Certificates
        </h2>
        {certs.data === undefined ? (
          <p className="empty">Loading…</p>
        ) : certs.data.length === 0 ? (
          <p className="empty">Pass a course's quiz to get its certificate.</p>
        ) : (
          <ul className="certificate-list" data-testid="certificates">
            {certs.data.map((c) => (
              <li key={c.completionId} data-testid="certificate-item" data-course={c.courseId}>
                <span className="cell-title">{c.courseTitle}</span>
                <span className="cell-sub">
                  Passed {formatDay(c.passedAt)} with {c.score}% · code <code className="mono">{c.code}</code>
                </span>
                <a
                  className="button button-small button-secondary"
                  href={awarenessApi.certificateUrl(c.completionId)}
                  target="_blank"
                  rel="noopener"
                  data-testid="certificate-link"
                >
                  Open printable certificate
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="panel panel-flush" aria-labelledby="attempts-title">
        <h2 id="attempts-title" className="panel-title panel-title-padded">
          Quiz attempts
        </h2>
        {attempts.error ? <Banner kind="error">{attempts.error}</Banner> : null}
        {attempts.data === undefined ? (
          <p className="empty">Loading…</p>
        ) : attempts.data.length === 0 ? (
          <p className="empty">No quiz taken yet.</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="attempts">
              <thead>
                <tr>
                  <th scope="col">Course</th>
                  <th scope="col">When</th>
                  <th scope="col">Score</th>
                  <th scope="col">Result</th>
                </tr>
              </thead>
              <tbody>
                {attempts.data.map((a) => (
                  <tr key={a.id} data-testid="attempt">
                    <th scope="row">{titles.get(a.courseId) ?? a.courseId}</th>
                    <td className="nowrap">{formatDateTime(a.submittedAt)}</td>
                    <td>{a.score}%</td>
                    <td>
                      <span className={`badge ${a.passed ? 'badge-ok' : 'badge-warning'}`}>
                        {a.passed ? 'Passed' : 'Not passed'}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function riskBadge(score: number): string {
  return score >= 60 ? 'badge-danger' : score >= 30 ? 'badge-warning' : 'badge-ok';
}

function TeamView({ me }: { me: Me | undefined }) {
  useDocumentTitle('Team training');
  const [department, setDepartment] = useState('');
  const { data, error, loading } = usePoll(() => awarenessApi.team(department || undefined), 0, department);
  const scopeText =
    data?.scope === 'team'
      ? 'The people who report to you and your department.'
      : data?.scope === 'department'
        ? `Everyone in ${data.department}.`
        : 'Everyone in the directory (first 500).';
  return (
    <>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Team training</h1>
          <p className="page-lede">{data ? scopeText : 'Training completion and awareness risk.'}</p>
        </div>
        {me?.seesAllDepartments && data ? (
          <div className="field">
            <label htmlFor="team-department">Department</label>
            <select
              id="team-department"
              value={department}
              onChange={(e) => setDepartment(e.target.value)}
              data-testid="team-department"
            >
              <option value="">{me.manages ? 'My team' : 'All departments'}</option>
              {data.departments.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </header>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {data ? <TeamReportView report={data} /> : <p className="empty">{loading ? 'Loading…' : null}</p>}
    </>
  );
}

function TeamReportView({ report }: { report: TeamReport }) {
  const s = report.summary;
  return (
    <>
      <dl className="stats" data-testid="team-summary">
        <div className="stat">
          <dt className="stat-label">Completion</dt>
          <dd className="stat-value" data-testid="team-completion" data-value={s.completionRate ?? ''}>
            {s.completionRate === null ? '—' : `${s.completionRate}%`}
          </dd>
          <dd className="stat-detail">
            {s.passed} of {s.assigned} courses up to date
          </dd>
        </div>
        <div className="stat">
          <dt className="stat-label">Overdue</dt>
          <dd className="stat-value" data-testid="team-overdue-count">
            {s.overdue}
          </dd>
          <dd className="stat-detail">courses past their due date</dd>
        </div>
        <div className="stat">
          <dt className="stat-label">People</dt>
          <dd className="stat-value">{s.people}</dd>
          <dd className="stat-detail">{s.highRisk} at high risk (60+)</dd>
        </div>
      </dl>
      {report.overdue.length ? (
        <section className="panel panel-flush" aria-labelledby="overdue-title">
          <h2 id="overdue-title" className="panel-title panel-title-padded">
            Overdue
          </h2>
          <div className="table-scroll">
            <table className="table" data-testid="team-overdue">
              <thead>
                <tr>
                  <th scope="col">Person</th>
                  <th scope="col">Course</th>
                  <th scope="col">Was due</th>
                </tr>
              </thead>
              <tbody>
                {report.overdue.map((o) => (
                  <tr key={`${o.personId}-${o.courseId}`}>
                    <th scope="row">{o.name}</th>
                    <td>{o.courseTitle}</td>
                    <td className="nowrap">{formatDay(o.dueAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
      <section className="panel panel-flush" aria-labelledby="people-title">
        <h2 id="people-title" className="panel-title panel-title-padded">
          People
        </h2>
        {report.people.length === 0 ? (
          <p className="empty">Nobody here yet.</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="team-people">
              <thead>
                <tr>
                  <th scope="col">Person</th>
                  <th scope="col">Courses</th>
                  <th scope="col">Risk</th>
                </tr>
              </thead>
              <tbody>
                {report.people.map((p) => (
                  <tr key={p.id} data-testid="team-person" data-name={p.name}>
                    <th scope="row">
                      <span className="cell-title">{p.name}</span>
                      <span className="cell-sub">{[p.jobRole, p.department].filter(Boolean).join(', ')}</span>
                    </th>
                    <td>
                      {p.courses.length === 0 ? (
                        <span className="muted">None assigned</span>
                      ) : (
                        <ul className="course-status-list">
                          {p.courses.map((c) => (
                            <li key={c.courseId} data-course={c.courseId}>
                              <StatusBadge status={c.status} /> {c.courseTitle}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>
                      {p.risk ? (
                        <>
                          <span className={`badge ${riskBadge(p.risk.score)}`} data-testid="team-risk">
                            {p.risk.score}
                          </span>
                          {p.risk.reasons.length ? (
                            <ul className="risk-reasons">
                              {p.risk.reasons.map((r) => (
                                <li key={r.code}>
                                  {r.text} ({r.points > 0 ? '+' : ''}
                                  {r.points})
                                </li>
                              ))}
                            </ul>
                          ) : (
                            <span className="cell-sub">No risk factors</span>
                          )}
                        </>
                      ) : (
                        <span className="muted">Not computed yet</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
