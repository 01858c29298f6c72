/** The audit log, a page at a time (the API pages by cursor and a page size). */
import { useState } from 'preact/hooks';
import { Alert, Page, useResource } from './kit';

interface Entry { id: string; at: string; actor_id: string | null; action: string; target_user_id: string | null; detail: unknown }
interface User { id: string; name: string }

export function Audit() {
  const [limit, setLimit] = useState('50');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const query = new URLSearchParams({ limit });
  if (cursor) query.set('cursor', cursor);
  const page = useResource<{ entries: Entry[]; next_cursor: string | null }>(`/v1/audit?${query}`);
  const users = useResource<User[]>('/v1/users');
  const nameOf = (id: string | null) => (id ? users.data?.find((u) => u.id === id)?.name ?? id : '');
  const next = page.data?.next_cursor;
  return (
    <Page title="Audit log">
      <label>Entries per page <select value={limit} onChange={(e) => { setLimit(e.currentTarget.value); setCursors([]); }}>
        {['25', '50', '100', '200'].map((n) => <option key={n} value={n}>{n}</option>)}</select></label>
      <Alert message={page.error} />
      <table class="admin-table">
        <caption>Recorded changes, newest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Whom</th><th scope="col">Detail</th></tr></thead>
        <tbody>{(page.data?.entries ?? []).map((e) => (
          <tr key={e.id}><td>{new Date(e.at).toLocaleString()}</td><td>{nameOf(e.actor_id)}</td><td>{e.action}</td>
            <td>{nameOf(e.target_user_id)}</td><td><code>{JSON.stringify(e.detail)}</code></td></tr>))}</tbody>
      </table>
      <nav aria-label="Audit pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>{' '}
        <button type="button" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>Next page</button>
      </nav>
    </Page>
  );
}
