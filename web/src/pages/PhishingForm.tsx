/**
 * The form for a new phishing campaign: name, template, landing page (or none: a click goes
 * straight to the teaching page), sending profile, target departments, schedule, send rate and the
 * public address tracking links point at. The server validates; its message is shown at the field
 * it names and in a banner.
 */
import { type FormEvent, useEffect, useId, useState } from 'react';
import { ApiError } from '../api.js';
import { awarenessApi } from '../awareness-api.js';
import type { Campaign, NewCampaign } from '../awareness-types.js';
import { Banner } from '../components/Banner.js';
import { Field } from '../components/Field.js';
import { SelectField } from '../components/SelectField.js';
import { useSubmit } from '../hooks.js';
import { usePoll } from '../usePoll.js';

const NONE = 'none';

interface PhishingFormProps {
  onCreated: (campaign: Campaign) => void;
  onCancel: () => void;
}

/** The form field a server error names (`body.name` → `name`, `departments.0` → `departments`). */
function fieldOf(err: unknown): string | undefined {
  const field = err instanceof ApiError ? err.details?.field : undefined;
  return typeof field === 'string' ? field.replace(/^body\./, '').split('.')[0] : undefined;
}

export function PhishingForm({ onCreated, onCancel }: PhishingFormProps) {
  const choices = usePoll(async () => {
    const [templates, landings, profiles, people] = await Promise.all([
      awarenessApi.phishingTemplates(),
      awarenessApi.landings(),
      awarenessApi.sendingProfiles(),
      awarenessApi.people({ limit: 1 }),
    ]);
    return { templates, landings, profiles, departments: people.departments };
  }, 0);
  const [name, setName] = useState('');
  const [templateId, setTemplateId] = useState('');
  const [landingId, setLandingId] = useState(NONE);
  const [profileId, setProfileId] = useState('');
  const [departments, setDepartments] = useState<string[]>([]);
  const [scheduledAt, setScheduledAt] = useState('');
  const [rate, setRate] = useState('60');
  const [baseUrl, setBaseUrl] = useState(() => window.location.origin);
  const [errorField, setErrorField] = useState<string>();
  const { busy, error, run } = useSubmit();
  const departmentsId = useId();

  // Defaults once the choices arrive: the first template (with its own landing page) and profile.
  const data = choices.data;
  useEffect(() => {
    if (!data) return;
    const first = data.templates[0];
    if (first) {
      setTemplateId((t) => t || first.id);
      setLandingId((l) => (l === NONE && first.landing ? first.landing : l));
    }
    const profile = data.profiles[0];
    if (profile) setProfileId((p) => p || profile.id);
  }, [data]);

  const chooseTemplate = (id: string) => {
    setTemplateId(id);
    setLandingId(data?.templates.find((t) => t.id === id)?.landing ?? NONE);
  };
  const toggle = (department: string, on: boolean) =>
    setDepartments((list) => (on ? [...list, department] : list.filter((d) => d !== department)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setErrorField(undefined);
    const scheduled = scheduledAt ? new Date(scheduledAt) : undefined;
    const body: NewCampaign = {
      name: name.trim(),
      templateId,
      landingId: landingId === NONE ? null : landingId,
      profileId,
      baseUrl: baseUrl.trim(),
      departments,
      ...(scheduled && !Number.isNaN(scheduled.getTime()) ? { scheduledAt: scheduled.toISOString() } : {}),
      ...(rate.trim() ? { ratePerMinute: Number(rate) } : {}),
    };
    void run(async () => {
      try {
        onCreated(await awarenessApi.createCampaign(body));
      } catch (err) {
        setErrorField(fieldOf(err));
        throw err;
      }
    });
  };

  const errorAt = (field: string) => (error && errorField === field ? error : undefined);

  return (
    <section className="panel" aria-labelledby="new-campaign-title">
      <h2 id="new-campaign-title" className="panel-title">
        New campaign
      </h2>
      {choices.error ? <Banner kind="error">{choices.error}</Banner> : null}
      {error ? (
        <Banner kind="error" testId="campaign-error">
          {error}
        </Banner>
      ) : null}
      {data === undefined ? (
        <p className="empty">{choices.loading ? 'Loading…' : null}</p>
      ) : (
        <form className="form form-grid" noValidate aria-busy={busy} onSubmit={submit}>
          <Field
            label="Name"
            value={name}
            onValue={setName}
            maxLength={200}
            autoComplete="off"
            data-testid="campaign-name"
            error={errorAt('name')}
            errorTestId="campaign-name-error"
          />
          <SelectField
            label="Template"
            value={templateId}
            options={data.templates.map((t) => ({ value: t.id, label: t.name }))}
            onValue={chooseTemplate}
            testId="campaign-template"
          />
          <SelectField
            label="Landing page"
            value={landingId}
            options={[
              { value: NONE, label: 'None: a click shows the teaching page' },
              ...data.landings.map((l) => ({ value: l.id, label: l.title })),
            ]}
            onValue={setLandingId}
            testId="campaign-landing"
          />
          {data.profiles.length ? (
            <SelectField
              label="Sending profile"
              value={profileId}
              options={data.profiles.map((p) => ({
                value: p.id,
                label: `${p.name} (${p.host}:${p.port})`,
              }))}
              onValue={setProfileId}
              testId="campaign-profile"
            />
          ) : (
            <p className="field-hint">No sending profile yet: an administrator adds one first.</p>
          )}
          <Field
            label="Start at"
            type="datetime-local"
            value={scheduledAt}
            onValue={setScheduledAt}
            hint="Your local time; empty starts now."
            data-testid="campaign-schedule"
            error={errorAt('scheduledAt')}
          />
          <Field
            label="Messages per minute"
            type="number"
            min={1}
            max={100000}
            value={rate}
            onValue={setRate}
            data-testid="campaign-rate"
            error={errorAt('ratePerMinute')}
            errorTestId="campaign-rate-error"
          />
          <Field
            label="Tracking links point at"
            value={baseUrl}
            onValue={setBaseUrl}
            maxLength={500}
            hint="This console's public address, which recipients' browsers reach."
            data-testid="campaign-base-url"
            error={errorAt('baseUrl')}
          />
          <fieldset
            className="form-grid-full phishing-departments"
            aria-describedby={errorAt('departments') ? `${departmentsId}-error` : undefined}
            data-testid="campaign-departments"
          >
            <legend>Departments</legend>
            {data.departments.length === 0 ? (
              <p className="field-hint">The staff directory has no department yet.</p>
            ) : (
              data.departments.map((d) => (
                <label key={d} className="phishing-check">
                  <input
                    type="checkbox"
                    checked={departments.includes(d)}
                    onChange={(e) => toggle(d, e.target.checked)}
                    data-testid="campaign-department"
                    data-department={d}
                  />
                  {d}
                </label>
              ))
            )}
            {errorAt('departments') ? (
              <p
                className="field-error"
                id={`${departmentsId}-error`}
                data-testid="campaign-departments-error"
              >
                {errorAt('departments')}
              </p>
            ) : null}
          </fieldset>
          <div className="button-row form-grid-full">
            <button
              type="submit"
              className="button button-primary"
              disabled={busy}
              data-testid="campaign-create"
            >
              {busy ? 'Creating…' : 'Create campaign'}
            </button>
            <button type="button" className="button button-ghost" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
