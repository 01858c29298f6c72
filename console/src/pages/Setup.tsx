/** First run: the owner's account, with the token the server printed at start. */
import { useEffect, useState } from 'preact/hooks';
import { api, reasonOf } from '../api';
import { Alert, Card, Field } from '../forms';

export function Setup({ token, onSignedIn }: { token: string; onSignedIn: () => void }) {
  const [needed, setNeeded] = useState<boolean | null>(null);
  const [accountName, setAccountName] = useState('');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    api<{ needed: boolean }>('/v1/setup', { quiet401: true }).then((a) => setNeeded(a.needed), () => setNeeded(false));
  }, []);

  async function create(event: Event) {
    event.preventDefault();
    setError('');
    try {
      await api('/v1/setup', { body: { token, account_name: accountName, name, email, password }, quiet401: true });
      onSignedIn();
    } catch (refusal) {
      setError(reasonOf(refusal));
    }
  }

  if (needed === null) return <Card><p>Loading…</p></Card>;
  if (!needed) {
    return (
      <Card>
        <h1>Switchboard</h1>
        <p>This server is already set up.</p>
        <a href="/sign-in">Sign in</a>
      </Card>
    );
  }
  return (
    <Card>
      <h1>Create your account</h1>
      <form onSubmit={create}>
        <Field label="Account name" value={accountName} onInput={setAccountName} autocomplete="organization" />
        <Field label="Your name" value={name} onInput={setName} autocomplete="name" />
        <Field label="Email" type="email" value={email} onInput={setEmail} autocomplete="username" />
        <Field label="Password" type="password" value={password} onInput={setPassword} autocomplete="new-password" />
        <button type="submit">Create account</button>
        <Alert>{error}</Alert>
      </form>
    </Card>
  );
}
