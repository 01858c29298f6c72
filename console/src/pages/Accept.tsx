/** Accept an invitation: the link's token names the account; the new user picks a name and password. */
import { useEffect, useState } from 'preact/hooks';
import { api, reasonOf } from '../api';
import { Alert, Card, Field } from '../forms';

interface Lookup { email: string; account: { name: string }; expires_at: string }

export function Accept({ token, onSignedIn }: { token: string; onSignedIn: () => void }) {
  const [invitation, setInvitation] = useState<Lookup | null>(null);
  const [lookupError, setLookupError] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    api<Lookup>(`/v1/invitations/lookup?token=${encodeURIComponent(token)}`, { quiet401: true })
      .then(setInvitation, (refusal) => setLookupError(reasonOf(refusal)));
  }, [token]);

  async function accept(event: Event) {
    event.preventDefault();
    setError('');
    try {
      await api('/v1/invitations/accept', { body: { token, name, password }, quiet401: true });
      onSignedIn();
    } catch (refusal) {
      setError(reasonOf(refusal));
    }
  }

  if (lookupError) {
    return (
      <Card>
        <h1>Invitation</h1>
        <p role="alert" class="alert">This invitation cannot be used: {lookupError}</p>
        <a href="/sign-in">Sign in</a>
      </Card>
    );
  }
  if (!invitation) return <Card><p>Loading…</p></Card>;
  return (
    <Card>
      <h1>Join {invitation.account.name}</h1>
      <p>You were invited as {invitation.email}.</p>
      <form onSubmit={accept}>
        <Field label="Your name" value={name} onInput={setName} autocomplete="name" />
        <Field label="Password" type="password" value={password} onInput={setPassword} autocomplete="new-password" />
        <button type="submit">Accept invitation</button>
        <Alert>{error}</Alert>
      </form>
    </Card>
  );
}
