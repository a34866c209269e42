/** MFA enrolment: scan the QR code (or type the key), then prove it works with a first code. */
import type { FormEvent } from 'react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, describeError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { CopyButton } from '../components/CopyButton.js';
import { Field } from '../components/Field.js';
import { useSubmit } from '../hooks.js';
import { AuthLayout } from '../layout/AuthLayout.js';
import type { EnrollConfirm, EnrollStart } from '../types.js';

// One enrolment start at a time, shared by every caller: a second start would replace the
// secret on the server while the page still shows the first one.
let pendingStart: Promise<EnrollStart> | undefined;
function startOnce(): Promise<EnrollStart> {
  pendingStart ??= api.enrollStart().finally(() => {
    pendingStart = undefined;
  });
  return pendingStart;
}

interface EnrollMfaProps {
  onEnrolled: (answer: EnrollConfirm) => void;
  onCancel: () => void;
  step?: string | undefined;
}

export function EnrollMfa({ onEnrolled, onCancel, step }: EnrollMfaProps) {
  const [setup, setSetup] = useState<EnrollStart>();
  const [loadError, setLoadError] = useState<string>();
  const [code, setCode] = useState('');
  const { busy, error, setError, run } = useSubmit();
  const live = useRef(true);

  const load = useCallback(() => {
    setLoadError(undefined);
    startOnce().then(
      (answer) => {
        if (live.current) setSetup(answer);
      },
      (err: unknown) => {
        if (live.current) setLoadError(describeError(err));
      },
    );
  }, []);

  useEffect(() => {
    live.current = true;
    load();
    return () => {
      live.current = false;
    };
  }, [load]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const clean = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(clean)) {
      setError('Enter the 6-digit code your authenticator app shows now.');
      return;
    }
    await run(
      async () => onEnrolled(await api.enrollConfirm(clean)),
      () => setCode(''),
    );
  };

  return (
    <AuthLayout
      title="Set up two-step sign-in"
      step={step}
      wide
      intro={
        <p>
          Your role protects sensitive systems, so every sign-in also asks for a code from an authenticator
          app on your phone (for example Microsoft Authenticator, Google Authenticator or FreeOTP).
        </p>
      }
      footer={
        <button type="button" className="link-button" onClick={onCancel}>
          Cancel and sign out
        </button>
      }
    >
      {loadError ? (
        <Banner kind="error">
          {loadError}{' '}
          <button type="button" className="link-button" onClick={load}>
            Try again
          </button>
        </Banner>
      ) : null}
      {!setup && !loadError ? (
        <p className="loading" role="status">
          Preparing your key…
        </p>
      ) : null}
      {setup ? (
        <div className="enroll">
          <ol className="enroll-steps">
            <li>
              <h2 className="enroll-step-title">Scan this code with your app</h2>
              <img
                className="qr"
                src={setup.qrDataUrl}
                width={200}
                height={200}
                alt="QR code that adds your Vigil account to an authenticator app"
                data-testid="totp-qr"
              />
            </li>
            <li>
              <h2 className="enroll-step-title">Or enter the key by hand</h2>
              <p className="muted">Choose “time-based”, 6 digits, 30 seconds.</p>
              <div className="secret-row">
                <code className="secret secret-key" data-testid="totp-secret">
                  {setup.secret}
                </code>
                <CopyButton text={setup.secret} label="Copy key" />
              </div>
            </li>
            <li>
              <h2 className="enroll-step-title">Enter the code the app shows</h2>
              {error ? <Banner kind="error">{error}</Banner> : null}
              <form className="form form-inline" onSubmit={submit} noValidate aria-busy={busy}>
                <Field
                  label="6-digit code"
                  value={code}
                  onValue={setCode}
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9 ]*"
                  maxLength={7}
                  className="code-input"
                  required
                  data-testid="totp-code"
                />
                <button
                  type="submit"
                  className="button button-primary"
                  disabled={busy}
                  data-testid="totp-confirm"
                >
                  {busy ? 'Checking…' : 'Turn on two-step sign-in'}
                </button>
              </form>
            </li>
          </ol>
        </div>
      ) : null}
    </AuthLayout>
  );
}
