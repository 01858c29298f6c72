/** Groups: the account's tree of groups; create, rename, move and delete. */
import { useState } from 'preact/hooks';
import { Alert, call, holds, type MeWithGrants, Page, useAction, useResource } from './kit';

export interface Group { id: string; name: string; parent_id: string | null }

/** Groups in tree order, each with its depth, for lists and selects. */
export function treeOrder(groups: Group[]): Array<{ group: Group; depth: number }> {
  const out: Array<{ group: Group; depth: number }> = [];
  const walk = (parent: string | null, depth: number) => groups
    .filter((g) => g.parent_id === parent)
    .forEach((group) => { out.push({ group, depth }); walk(group.id, depth + 1); });
  walk(null, 0);
  return out;
}

export function GroupOptions({ groups }: { groups: Group[] }) {
  return <>{treeOrder(groups).map(({ group, depth }) => <option key={group.id} value={group.id}>{'\u00a0\u00a0'.repeat(depth) + group.name}</option>)}</>;
}

export function Groups({ me }: { me: MeWithGrants }) {
  const groups = useResource<Group[]>('/v1/groups');
  const manage = holds(me, 'settings.manage');
  const action = useAction();
  const all = groups.data ?? [];
  const act = (work: () => Promise<unknown>) => action.run(work).then((ok) => { if (ok) groups.reload(); return ok; });
  const [name, setName] = useState('');
  const [parent, setParent] = useState('');
  return (
    <Page title="Groups">
      <Alert message={groups.error || action.error} />
      <ul class="admin-tree" aria-label="Group tree">
        {treeOrder(all).map(({ group, depth }) => (
          <li key={group.id} class={`depth-${Math.min(depth, 6)}`}>
            <GroupRow group={group} groups={all} manage={manage} act={act} />
          </li>
        ))}
      </ul>
      {manage && (
        <form class="admin-form" onSubmit={async (e) => { e.preventDefault(); if (await act(() => call('/v1/groups', 'POST', { name, parent_id: parent || null }))) setName(''); }}>
          <h2>New group</h2>
          <label>Group name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
          <label>Parent group <select value={parent} onChange={(e) => setParent(e.currentTarget.value)}>
            <option value="">Top level</option><GroupOptions groups={all} /></select></label>
          <button type="submit">Create group</button>
        </form>
      )}
    </Page>
  );
}

function GroupRow({ group, groups, manage, act }: { group: Group; groups: Group[]; manage: boolean; act: (w: () => Promise<unknown>) => Promise<boolean> }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(group.name);
  const [parent, setParent] = useState(group.parent_id ?? '');
  if (!manage || !editing) {
    return <span>{group.name}{manage && <> <button type="button" onClick={() => setEditing(true)}>Edit {group.name}</button>{' '}
      <button type="button" onClick={() => confirm(`Delete the group ${group.name}?`) && act(() => call(`/v1/groups/${group.id}`, 'DELETE'))}>Delete {group.name}</button></>}</span>;
  }
  const body: Record<string, unknown> = { name };
  if (parent && parent !== group.parent_id) body.parent_id = parent;
  return (
    <form onSubmit={async (e) => { e.preventDefault(); if (await act(() => call(`/v1/groups/${group.id}`, 'PATCH', body))) setEditing(false); }}>
      <label>Name of {group.name} <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>{' '}
      {group.parent_id && <label>Parent of {group.name} <select value={parent} onChange={(e) => setParent(e.currentTarget.value)}>
        <GroupOptions groups={groups.filter((g) => g.id !== group.id)} /></select></label>}{' '}
      <button type="submit">Save group</button> <button type="button" onClick={() => setEditing(false)}>Cancel</button>
    </form>
  );
}
