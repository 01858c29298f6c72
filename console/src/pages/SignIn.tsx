/**
 * Sign in: email and password, then the authenticator code when the login answers
 * `totp_required`, or the forced set-up when the account requires two factors and this
 * user has none yet (`must_enroll_2fa`).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, reasonOf } from '../api';
import { Alert, Card, Field } from '../forms';
import type { LoginResponse } from '../session';

type Step = 'password' | 'code' | 'enroll';

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [step, setStep] = useState<Step>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function logIn(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const body = { email, password, ...(step === 'code' ? { totp: code.trim() } : {}) };
      const answer = await api<LoginResponse>('/v1/auth/login', { body, quiet401: true });
      if (answer.must_enroll_2fa) setStep('enroll');
      else onSignedIn();
    } catch (refusal) {
      if (refusal instanceof ApiError && refusal.code === 'totp_required') {
        setStep('code');
      } else {
        setError(step === 'code' && refusal instanceof ApiError && refusal.status === 401
          ? 'That code did not work. Try the current one.' : reasonOf(refusal));
      }
    } finally {
      setBusy(false);
    }
  }

  if (step === 'enroll') return <Enroll onDone={onSignedIn} />;

  return (
    <Card>
      <h1>Sign in</h1>
      <form onSubmit={logIn}>
        {step === 'password' ? (
          <>
            <Field label="Email" type="email" autocomplete="username" value={email} onInput={setEmail} />
            <Field label="Password" type="password" autocomplete="current-password" value={password} onInput={setPassword} />
            <button type="submit" disabled={busy}>Sign in</button>
          </>
        ) : (
          <>
            <p>Enter the code from your authenticator app, or one of your backup codes.</p>
            <Field label="Authentication code" autocomplete="one-time-code" inputMode="numeric" value={code} onInput={setCode} />
            <button type="submit" disabled={busy}>Verify</button>
          </>
        )}
        <Alert>{error}</Alert>
      </form>
    </Card>
  );
}

interface SetupView { secret: string; otpauth_uri: string }

/** The forced set-up of two-factor authentication, then the backup codes once. */
function Enroll({ onDone }: { onDone: () => void }) {
  const [secret, setSecret] = useState<SetupView | null>(null);
  const [code, setCode] = useState('');
  const [backupCodes, setBackupCodes] = useState<string[] | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    api<SetupView>('/v1/me/2fa/setup', { method: 'POST', body: {} }).then(setSecret, (e) => setError(reasonOf(e)));
  }, []);

  async function confirm(event: Event) {
    event.preventDefault();
    setError('');
    try {
      const answer = await api<{ backup_codes: string[] }>('/v1/me/2fa/confirm', { body: { code: code.trim() } });
      setBackupCodes(answer.backup_codes);
    } catch (refusal) {
      setError(reasonOf(refusal));
    }
  }

  if (backupCodes) {
    return (
      <Card>
        <h1>Your backup codes</h1>
        <p>Each works once in place of the app. Keep them somewhere safe: they are not shown again.</p>
        <ul class="codes" aria-label="Backup codes">{backupCodes.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
        <button type="button" onClick={onDone}>Continue</button>
      </Card>
    );
  }

  return (
    <Card>
      <h1>Set up two-factor authentication</h1>
      <p>Your account requires it. Add this secret to your authenticator app, then enter the code it shows.</p>
      <p class="secret"><code data-testid="totp-secret">{secret?.secret ?? '…'}</code></p>
      <form onSubmit={confirm}>
        <Field label="Authentication code" autocomplete="one-time-code" inputMode="numeric" value={code} onInput={setCode} />
        <button type="submit" disabled={!secret}>Turn on</button>
        <Alert>{error}</Alert>
      </form>
    </Card>
  );
}
