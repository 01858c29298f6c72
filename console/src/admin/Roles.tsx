/** Roles: the built-in ones (read-only) and custom roles made from the permission catalogue. */
import { useState } from 'preact/hooks';
import { Alert, call, holds, type MeWithGrants, Page, useAction, useResource } from './kit';

interface Permission { id: string; description: string }
interface Role { id: string; name: string; builtin: boolean; permissions: string[] }

export function Roles({ me }: { me: MeWithGrants }) {
  const roles = useResource<Role[]>('/v1/roles');
  const catalogue = useResource<Permission[]>('/v1/permissions');
  const manage = holds(me, 'roles.manage');
  const action = useAction();
  const [editing, setEditing] = useState<Role | null>(null);
  const act = (work: () => Promise<unknown>) => action.run(work).then((ok) => { if (ok) { roles.reload(); setEditing(null); } return ok; });
  const custom = (roles.data ?? []).filter((r) => !r.builtin);
  return (
    <Page title="Roles">
      <Alert message={roles.error || action.error} />
      <h2>Built-in roles</h2>
      <dl class="admin-roles">
        {(roles.data ?? []).filter((r) => r.builtin).map((r) => [<dt key={`t${r.id}`}>{r.name}</dt>, <dd key={`d${r.id}`}>{r.permissions.join(', ')}</dd>])}
      </dl>
      <h2>Custom roles</h2>
      {custom.length === 0 && <p>No custom roles yet.</p>}
      <ul>
        {custom.map((r) => (
          <li key={r.id}>
            <strong>{r.name}</strong>: {r.permissions.join(', ') || 'no permissions'}{' '}
            {manage && <button type="button" onClick={() => setEditing(r)}>Edit {r.name}</button>}{' '}
            {manage && <button type="button" onClick={() => confirm(`Delete the role ${r.name}?`) && act(() => call(`/v1/roles/${r.id}`, 'DELETE'))}>Delete {r.name}</button>}
          </li>
        ))}
      </ul>
      {manage && editing && (
        <RoleForm key={editing.id} title={`Edit ${editing.name}`} initial={editing} catalogue={catalogue.data ?? []} submitLabel="Save role"
          onSubmit={(name, permissions) => act(() => call(`/v1/roles/${editing.id}`, 'PATCH', { name, permissions }))} onCancel={() => setEditing(null)} />
      )}
      {manage && !editing && (
        <RoleForm key="new" title="New role" catalogue={catalogue.data ?? []} submitLabel="Create role"
          onSubmit={(name, permissions) => act(() => call('/v1/roles', 'POST', { name, permissions }))} />
      )}
    </Page>
  );
}

function RoleForm({ title, initial, catalogue, submitLabel, onSubmit, onCancel }: {
  title: string; initial?: Role; catalogue: Permission[]; submitLabel: string;
  onSubmit: (name: string, permissions: string[]) => Promise<boolean>; onCancel?: () => void;
}) {
  const [name, setName] = useState(initial?.name ?? '');
  const [chosen, setChosen] = useState<string[]>(initial?.permissions ?? []);
  const toggle = (id: string) => setChosen(chosen.includes(id) ? chosen.filter((p) => p !== id) : [...chosen, id]);
  return (
    <form class="admin-form" onSubmit={async (e) => { e.preventDefault(); if (await onSubmit(name, chosen) && !initial) { setName(''); setChosen([]); } }}>
      <h2>{title}</h2>
      <label>Role name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
      <fieldset>
        <legend>Permissions</legend>
        {catalogue.map((p) => (
          <label key={p.id} class="admin-check"><input type="checkbox" checked={chosen.includes(p.id)} onChange={() => toggle(p.id)} /> {p.id}: {p.description}</label>
        ))}
      </fieldset>
      <button type="submit">{submitLabel}</button>
      {onCancel && <button type="button" onClick={onCancel}>Cancel</button>}
    </form>
  );
}
