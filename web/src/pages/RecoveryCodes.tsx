/** Shown once, right after MFA enrolment: the recovery codes for a lost phone. */
import { CopyButton } from '../components/CopyButton.js';
import { DownloadButton } from '../components/DownloadButton.js';
import { AuthLayout } from '../layout/AuthLayout.js';

interface RecoveryCodesProps {
  codes: string[];
  username?: string | undefined;
  onDone: () => void;
  step?: string | undefined;
}

export function RecoveryCodes({ codes, username, onDone, step }: RecoveryCodesProps) {
  const text = [
    `Vigil recovery codes${username ? ` for ${username}` : ''}`,
    `Created ${new Date().toISOString()}`,
    'Each code works once, in place of an authenticator code.',
    '',
    ...codes,
    '',
  ].join('\n');

  return (
    <AuthLayout
      title="Save your recovery codes"
      step={step}
      intro={
        <p>
          If you lose your phone, each of these codes lets you sign in once instead of an authenticator code.
          Keep them somewhere safe, such as a password manager. <strong>They are shown only now.</strong>
        </p>
      }
    >
      <ol className="recovery-codes" data-testid="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div className="button-row">
        <CopyButton text={text} label="Copy codes" />
        <DownloadButton
          text={text}
          filename={`vigil-recovery-codes${username ? `-${username}` : ''}.txt`}
          label="Download as text"
        />
      </div>
      <button
        type="button"
        className="button button-primary button-block"
        onClick={onDone}
        data-testid="recovery-ack"
      >
        I have saved these codes
      </button>
    </AuthLayout>
  );
}
