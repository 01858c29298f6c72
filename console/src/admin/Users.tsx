/** Users: who is in the account, their grants and capacity; invitations; ownership. */
import { useState } from 'preact/hooks';
import { Alert, call, type Grant, holds, isOwner, type MeWithGrants, Page, useAction, useResource } from './kit';

interface User { id: string; name: string; email: string; capacity: number; grants: Grant[]; deactivated_at: string | null }
interface Invitation { id: string; email: string; status: string; expires_at: string; grants: Grant[] }
interface Role { id: string; name: string }
interface Group { id: string; name: string }

export function Users({ me }: { me: MeWithGrants }) {
  const users = useResource<User[]>('/v1/users');
  const roles = useResource<Role[]>('/v1/roles');
  const groups = useResource<Group[]>('/v1/groups');
  const manage = holds(me, 'users.manage');
  const invitations = useResource<{ invitations: Invitation[] }>(manage ? '/v1/invitations?status=pending' : null);
  const groupName = (id: string) => groups.data?.find((g) => g.id === id)?.name ?? id;
  return (
    <Page title="Users">
      <Alert message={users.error} />
      <table class="admin-table">
        <caption>People in the account</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Grants</th><th scope="col">Status</th><th scope="col">Capacity</th>{manage && <th scope="col">Actions</th>}</tr></thead>
        <tbody>
          {(users.data ?? []).map((user) => (
            <UserRow key={user.id} user={user} me={me} manage={manage} roles={roles.data ?? []} groups={groups.data ?? []} groupName={groupName} onChanged={users.reload} />
          ))}
        </tbody>
      </table>
      {manage && <Invite roles={roles.data ?? []} groups={groups.data ?? []} onInvited={() => { users.reload(); invitations.reload(); }} />}
      {manage && <Invitations list={invitations} groupName={groupName} />}
      {isOwner(me) && <TransferOwnership users={(users.data ?? []).filter((u) => u.id !== me.user.id && !u.deactivated_at)} />}
    </Page>
  );
}

function UserRow({ user, me, manage, roles, groups, groupName, onChanged }: {
  user: User; me: MeWithGrants; manage: boolean; roles: Role[]; groups: Group[]; groupName: (id: string) => string; onChanged: () => void;
}) {
  const action = useAction();
  const [editing, setEditing] = useState(false);
  const [capacity, setCapacity] = useState(String(user.capacity));
  const [grants, setGrants] = useState<Grant[]>(user.grants);
  const act = (work: () => Promise<unknown>) => action.run(work).then((ok) => ok && onChanged());
  return (
    <tr>
      <th scope="row">{user.name}</th>
      <td>{user.email}</td>
      <td>{user.grants.map((g) => `${g.role} in ${groupName(g.group_id)}`).join(', ')}</td>
      <td>{user.deactivated_at ? 'Deactivated' : 'Active'}</td>
      <td>{manage ? (
        <form onSubmit={(e) => { e.preventDefault(); void act(() => call(`/v1/users/${user.id}/capacity`, 'PUT', { capacity: Number(capacity) })); }}>
          <label>Capacity of {user.name} <input type="number" min="0" value={capacity} onInput={(e) => setCapacity(e.currentTarget.value)} /></label>
          <button type="submit">Save capacity</button>
        </form>) : user.capacity}
      </td>
      {manage && (
        <td>
          <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>Edit grants of {user.name}</button>
          {user.id !== me.user.id && (user.deactivated_at
            ? <button type="button" onClick={() => act(() => call(`/v1/users/${user.id}/reactivate`, 'POST'))}>Reactivate {user.name}</button>
            : <button type="button" onClick={() => act(() => call(`/v1/users/${user.id}/deactivate`, 'POST'))}>Deactivate {user.name}</button>)}
          {user.id !== me.user.id && (
            <button type="button" onClick={() => confirm(`Remove ${user.name}?`) && act(() => call(`/v1/users/${user.id}`, 'DELETE'))}>Remove {user.name}</button>)}
          {editing && (
            <div>
              <GrantsEditor grants={grants} onChange={setGrants} roles={roles} groups={groups} label={`Grants of ${user.name}`} />
              <button type="button" onClick={() => act(() => call(`/v1/users/${user.id}/grants`, 'PUT', grants)).then(() => setEditing(false))}>Save grants</button>
            </div>)}
          <Alert message={action.error} />
        </td>
      )}
    </tr>
  );
}

/** A controlled list of (role, group) pairs; used for users, invitations and API keys. */
export function GrantsEditor({ grants, onChange, roles, groups, label }: {
  grants: Grant[]; onChange: (grants: Grant[]) => void; roles: Role[]; groups: Group[]; label: string;
}) {
  const change = (index: number, patch: Partial<Grant>) => onChange(grants.map((g, i) => (i === index ? { ...g, ...patch } : g)));
  return (
    <fieldset class="admin-grants">
      <legend>{label}</legend>
      {grants.map((grant, index) => (
        <div key={index}>
          <label>Role {index + 1} <select value={grant.role} onChange={(e) => change(index, { role: e.currentTarget.value })}>
            {roles.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}</select></label>{' '}
          <label>Group {index + 1} <select value={grant.group_id} onChange={(e) => change(index, { group_id: e.currentTarget.value })}>
            {groups.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}</select></label>{' '}
          <button type="button" onClick={() => onChange(grants.filter((_, i) => i !== index))}>Remove grant {index + 1}</button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...grants, { role: roles[0]?.id ?? '', group_id: groups[0]?.id ?? '' }])}>Add grant</button>
    </fieldset>
  );
}

/** The first grant a new invitation or key gets: an operator at the root group. */
export const defaultGrants = (roles: Role[], groups: Group[]): Grant[] =>
  roles.length && groups.length ? [{ role: roles.find((r) => r.id === 'operator')?.id ?? roles[0].id, group_id: (groups.find((g) => !('parent_id' in g) || !(g as { parent_id?: string | null }).parent_id) ?? groups[0]).id }] : [];

function Invite({ roles, groups, onInvited }: { roles: Role[]; groups: Group[]; onInvited: () => void }) {
  const action = useAction();
  const [emails, setEmails] = useState('');
  const [done, setDone] = useState('');
  const [grants, setGrants] = useState<Grant[] | null>(null);
  const chosen = grants ?? defaultGrants(roles, groups);
  const submit = async (e: Event) => {
    e.preventDefault();
    const list = emails.split(/[\s,;]+/).filter(Boolean);
    if (await action.run(() => call('/v1/invitations', 'POST', { emails: list, grants: chosen }))) {
      setDone(`Invited ${list.length}`);
      setEmails('');
      onInvited();
    }
  };
  return (
    <form onSubmit={submit} class="admin-form">
      <h2>Invite people</h2>
      <label>Emails (one or more, separated by commas or lines)<textarea value={emails} onInput={(e) => setEmails(e.currentTarget.value)} required /></label>
      <GrantsEditor label="Grants for the invited" roles={roles} groups={groups} grants={chosen} onChange={setGrants} />
      <button type="submit">Send invitations</button>
      {done && <p role="status">{done}</p>}
      <Alert message={action.error} />
    </form>
  );
}

function Invitations({ list, groupName }: {
  list: { data?: { invitations: Invitation[] }; error: string; reload: () => void }; groupName: (id: string) => string;
}) {
  const action = useAction();
  const act = (work: () => Promise<unknown>) => action.run(work).then((ok) => ok && list.reload());
  return (
    <section aria-labelledby="pending-heading">
      <h2 id="pending-heading">Pending invitations</h2>
      <Alert message={list.error || action.error} />
      <ul>
        {(list.data?.invitations ?? []).map((inv) => (
          <li key={inv.id}>
            {inv.email} ({inv.grants.map((g) => `${g.role} in ${groupName(g.group_id)}`).join(', ')}; expires {new Date(inv.expires_at).toLocaleString()}){' '}
            <button type="button" onClick={() => act(() => call(`/v1/invitations/${inv.id}/resend`, 'POST'))}>Resend to {inv.email}</button>{' '}
            <button type="button" onClick={() => act(() => call(`/v1/invitations/${inv.id}`, 'DELETE'))}>Revoke {inv.email}</button>
          </li>
        ))}
      </ul>
      {list.data && list.data.invitations.length === 0 && <p>No pending invitations.</p>}
    </section>
  );
}

function TransferOwnership({ users }: { users: User[] }) {
  const action = useAction();
  const [userId, setUserId] = useState('');
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(await action.run(() => call('/v1/account/transfer-ownership', 'POST', { user_id: userId, password })));
  };
  return (
    <form onSubmit={submit} class="admin-form">
      <h2>Transfer ownership</h2>
      <label>New owner <select value={userId} onChange={(e) => setUserId(e.currentTarget.value)} required>
        <option value="">Choose a person</option>
        {users.map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}</select></label>
      <label>Your password <input type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></label>
      <button type="submit">Transfer ownership</button>
      {done && <p role="status">Ownership transferred.</p>}
      <Alert message={action.error} />
    </form>
  );
}
