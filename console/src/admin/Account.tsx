/** Account settings: required two-factor authentication, and the plan's seats. */
import { useEffect, useState } from 'preact/hooks';
import { Alert, call, holds, type MeWithGrants, Page, useAction, useResource } from './kit';

interface Account { id: string; name: string; seat_limit: number | null; seats_used: number; require_2fa: boolean }

export function AccountPage({ me }: { me: MeWithGrants }) {
  const account = useResource<Account>('/v1/account');
  const action = useAction();
  const [seats, setSeats] = useState('');
  const [saved, setSaved] = useState('');
  useEffect(() => { if (account.data) setSeats(account.data.seat_limit === null ? '' : String(account.data.seat_limit)); }, [account.data]);
  const act = (work: () => Promise<unknown>, done: string) => action.run(work).then((ok) => { if (ok) { setSaved(done); account.reload(); } });
  const data = account.data;
  return (
    <Page title="Account">
      <Alert message={account.error || action.error} />
      {saved && <p role="status">{saved}</p>}
      {data && (
        <>
          <p>{data.name}: {data.seats_used} seats used of {data.seat_limit ?? 'unlimited'}.</p>
          {holds(me, 'settings.manage') && (
            <section aria-labelledby="security-heading">
              <h2 id="security-heading">Security</h2>
              <label class="admin-check"><input type="checkbox" checked={data.require_2fa}
                onChange={(e) => act(() => call('/v1/account/settings', 'PUT', { require_2fa: e.currentTarget.checked }), 'Settings saved.')} />
                {' '}Require two-factor authentication of every user</label>
            </section>
          )}
          {holds(me, 'billing.manage') && (
            <form class="admin-form" onSubmit={(e) => { e.preventDefault(); void act(() => call('/v1/account/plan', 'PUT', { seat_limit: seats === '' ? null : Number(seats) }), 'Plan saved.'); }}>
              <h2>Plan and seats</h2>
              <label>Seat limit (empty: unlimited) <input type="number" min="1" value={seats} onInput={(e) => setSeats(e.currentTarget.value)} /></label>
              <button type="submit">Save plan</button>
            </form>
          )}
        </>
      )}
    </Page>
  );
}
