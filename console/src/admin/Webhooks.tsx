/** Webhooks: create, edit and delete them; each one's delivery log. */
import { useState } from 'preact/hooks';
import { Alert, call, holds, type MeWithGrants, Page, ShownOnce, useAction, useResource } from './kit';

interface Webhook { id: string; url: string; events: string[]; active: boolean; include_bodies: boolean; created_at: string }
interface Delivery { id: string; event: string; status: string; created_at: string; attempts: Array<{ at: string; http_status: number | null; error: string | null }> }

export const EVENTS = ['conversation.created', 'message.created', 'conversation.assigned', 'conversation.resolved', 'conversation.reopened'];

export function Webhooks({ me }: { me: MeWithGrants }) {
  const hooks = useResource<{ webhooks: Webhook[] }>('/v1/webhooks');
  const manage = holds(me, 'developers.manage');
  const action = useAction();
  const act = (work: () => Promise<unknown>) => action.run(work).then((ok) => { if (ok) hooks.reload(); return ok; });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['message.created']);
  const [secret, setSecret] = useState('');
  const create = async (e: Event) => {
    e.preventDefault();
    await act(async () => {
      const created = await call<{ secret: string }>('/v1/webhooks', 'POST', { url, events });
      setSecret(created.secret);
      setUrl('');
    });
  };
  return (
    <Page title="Webhooks">
      <Alert message={hooks.error || action.error} />
      {secret && <ShownOnce label="The signing secret" secret={secret} />}
      {(hooks.data?.webhooks ?? []).length === 0 && <p>No webhooks yet.</p>}
      {(hooks.data?.webhooks ?? []).map((hook) => <WebhookCard key={hook.id} hook={hook} manage={manage} act={act} />)}
      {manage && (
        <form class="admin-form" onSubmit={create}>
          <h2>New webhook</h2>
          <label>Endpoint URL <input type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} required /></label>
          <EventPicker legend="Events of the new webhook" chosen={events} onChange={setEvents} />
          <button type="submit">Create webhook</button>
        </form>
      )}
    </Page>
  );
}

function EventPicker({ legend, chosen, onChange }: { legend: string; chosen: string[]; onChange: (events: string[]) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {EVENTS.map((ev) => (
        <label key={ev} class="admin-check"><input type="checkbox" checked={chosen.includes(ev)}
          onChange={() => onChange(chosen.includes(ev) ? chosen.filter((x) => x !== ev) : [...chosen, ev])} /> {ev}</label>
      ))}
    </fieldset>
  );
}

function WebhookCard({ hook, manage, act }: { hook: Webhook; manage: boolean; act: (w: () => Promise<unknown>) => Promise<boolean> }) {
  const [url, setUrl] = useState(hook.url);
  const [events, setEvents] = useState(hook.events);
  const [active, setActive] = useState(hook.active);
  const [showLog, setShowLog] = useState(false);
  return (
    <section class="admin-card" aria-label={`Webhook ${hook.url}`}>
      <h2>{hook.url}</h2>
      <p>{hook.active ? 'Active' : 'Paused'}; events: {hook.events.join(', ')}</p>
      {manage && (
        <form onSubmit={(e) => { e.preventDefault(); void act(() => call(`/v1/webhooks/${hook.id}`, 'PATCH', { url, events, active })); }}>
          <label>URL of {hook.url} <input type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} required /></label>
          <EventPicker legend={`Events of ${hook.url}`} chosen={events} onChange={setEvents} />
          <label class="admin-check"><input type="checkbox" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} /> Active</label>
          <button type="submit">Save webhook</button>{' '}
          <button type="button" onClick={() => confirm(`Delete the webhook ${hook.url}?`) && act(() => call(`/v1/webhooks/${hook.id}`, 'DELETE'))}>Delete webhook</button>
        </form>
      )}
      <button type="button" aria-expanded={showLog} onClick={() => setShowLog(!showLog)}>Delivery log</button>
      {showLog && <DeliveryLog id={hook.id} />}
    </section>
  );
}

function DeliveryLog({ id }: { id: string }) {
  const log = useResource<{ deliveries: Delivery[] }>(`/v1/webhooks/${id}/deliveries?limit=50`);
  const rows = log.data?.deliveries ?? [];
  return (
    <>
      <Alert message={log.error} />
      {log.data && rows.length === 0 && <p>No deliveries yet.</p>}
      {rows.length > 0 && (
        <table class="admin-table">
          <caption>Deliveries</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Last attempt</th></tr></thead>
          <tbody>{rows.map((d) => {
            const last = d.attempts[d.attempts.length - 1];
            return (
              <tr key={d.id}><td>{new Date(d.created_at).toLocaleString()}</td><td>{d.event}</td><td>{d.status}</td>
                <td>{last ? (last.http_status ? `HTTP ${last.http_status}` : last.error ?? '') : 'None'}</td></tr>
            );
          })}</tbody>
        </table>
      )}
    </>
  );
}
