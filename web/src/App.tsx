/**
 * Where the session stands decides what the console shows: the sign-in steps in order
 * (password → new password → MFA enrolment → recovery codes, or password → MFA code), then the app.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, describeError, SESSION_LOST_EVENT } from './api.js';
import { Banner } from './components/Banner.js';
import { AuthLayout } from './layout/AuthLayout.js';
import { Shell } from './layout/Shell.js';
import { ChangePassword } from './pages/ChangePassword.js';
import { EnrollMfa } from './pages/EnrollMfa.js';
import { Login } from './pages/Login.js';
import { RecoveryCodes } from './pages/RecoveryCodes.js';
import { VerifyMfa } from './pages/VerifyMfa.js';
import { navigate } from './router.js';
import type { EnrollConfirm, Session } from './types.js';

type Boot =
  | { status: 'loading' }
  | { status: 'failed'; message: string }
  | { status: 'ready'; session: Session };

export function App() {
  const [boot, setBoot] = useState<Boot>({ status: 'loading' });
  const [recoveryCodes, setRecoveryCodes] = useState<string[]>();
  const [notice, setNotice] = useState<string>();
  // Set when this visit started with the one-time password, to number the first-run steps.
  const [firstRun, setFirstRun] = useState(false);
  const checking = useRef(false);

  const applySession = useCallback((session: Session) => {
    if (session.state === 'password') setFirstRun(true);
    if (session.state !== 'none') setNotice(undefined);
    setBoot({ status: 'ready', session });
  }, []);

  const loadSession = useCallback(async () => {
    if (checking.current) return;
    checking.current = true;
    try {
      applySession(await api.session());
    } catch (err) {
      setBoot({ status: 'failed', message: describeError(err) });
    } finally {
      checking.current = false;
    }
  }, [applySession]);

  useEffect(() => {
    void loadSession();
  }, [loadSession]);

  // An API call found the session gone (expired, revoked) or needing a step: ask the server.
  useEffect(() => {
    const onLost = () => {
      setNotice('Your session has ended. Sign in again to continue.');
      void loadSession();
    };
    window.addEventListener(SESSION_LOST_EVENT, onLost);
    return () => window.removeEventListener(SESSION_LOST_EVENT, onLost);
  }, [loadSession]);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } catch {
      // The session is gone either way for this tab; the server expires it too.
    }
    setRecoveryCodes(undefined);
    setFirstRun(false);
    setNotice('You are signed out.');
    setBoot({ status: 'ready', session: { state: 'none' } });
    navigate('/', { replace: true });
  }, []);

  const onEnrolled = useCallback(
    (answer: EnrollConfirm) => {
      setRecoveryCodes(answer.recoveryCodes);
      applySession({ state: answer.state, user: answer.user, csrfToken: answer.csrfToken });
    },
    [applySession],
  );

  if (boot.status === 'loading') {
    return (
      <div className="splash" role="status">
        <span className="spinner" aria-hidden="true" /> Loading Vigil…
      </div>
    );
  }

  if (boot.status === 'failed') {
    return (
      <AuthLayout title="Vigil is not reachable">
        <Banner kind="error">{boot.message}</Banner>
        <button
          type="button"
          className="button button-primary button-block"
          onClick={() => void loadSession()}
        >
          Try again
        </button>
      </AuthLayout>
    );
  }

  const { session } = boot;
  const user = session.user;
  const cancel = () => void signOut();

  if (recoveryCodes && session.state === 'ok') {
    return (
      <RecoveryCodes
        codes={recoveryCodes}
        username={user?.username}
        step={firstRun ? 'Step 3 of 3' : undefined}
        onDone={() => {
          setRecoveryCodes(undefined);
          setFirstRun(false);
        }}
      />
    );
  }

  switch (session.state) {
    case 'password':
      return (
        <ChangePassword
          onSession={applySession}
          onCancel={cancel}
          displayName={user?.displayName}
          username={user?.username}
          step={user && !user.mfaEnrolled && needsMfa(user.role) ? 'Step 1 of 3' : undefined}
        />
      );
    case 'enroll':
      return (
        <EnrollMfa onEnrolled={onEnrolled} onCancel={cancel} step={firstRun ? 'Step 2 of 3' : undefined} />
      );
    case 'mfa':
      return <VerifyMfa onSession={applySession} onCancel={cancel} displayName={user?.displayName} />;
    case 'ok':
      if (user) return <Shell user={user} onSignOut={signOut} />;
      return <Login onSession={applySession} notice={notice} />;
    default:
      return <Login onSession={applySession} notice={notice} />;
  }
}

function needsMfa(role: string): boolean {
  return role === 'admin' || role === 'analyst' || role === 'privacy-officer';
}
