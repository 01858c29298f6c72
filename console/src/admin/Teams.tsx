/** Teams: named sets of agents an inbox routes to; create, members, delete. */
import { useState } from 'preact/hooks';
import { Alert, call, holds, type MeWithGrants, Page, useAction, useResource } from './kit';

interface Team { id: string; name: string; members: string[] }
interface User { id: string; name: string; deactivated_at: string | null }

export function Teams({ me }: { me: MeWithGrants }) {
  const teams = useResource<Team[]>('/v1/teams');
  const users = useResource<User[]>('/v1/users');
  const manage = holds(me, 'users.manage');
  const action = useAction();
  const act = (work: () => Promise<unknown>) => action.run(work).then((ok) => { if (ok) teams.reload(); return ok; });
  const people = (users.data ?? []).filter((u) => !u.deactivated_at);
  const [name, setName] = useState('');
  const [members, setMembers] = useState<string[]>([]);
  return (
    <Page title="Teams">
      <Alert message={teams.error || action.error} />
      {(teams.data ?? []).length === 0 && <p>No teams yet.</p>}
      {(teams.data ?? []).map((team) => <TeamCard key={team.id} team={team} people={people} manage={manage} act={act} />)}
      {manage && (
        <form class="admin-form" onSubmit={async (e) => { e.preventDefault(); if (await act(() => call('/v1/teams', 'POST', { name, members }))) { setName(''); setMembers([]); } }}>
          <h2>New team</h2>
          <label>Team name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
          <MemberPicker legend="Members of the new team" people={people} chosen={members} onChange={setMembers} />
          <button type="submit">Create team</button>
        </form>
      )}
    </Page>
  );
}

function MemberPicker({ legend, people, chosen, onChange }: { legend: string; people: User[]; chosen: string[]; onChange: (ids: string[]) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {people.map((p) => (
        <label key={p.id} class="admin-check"><input type="checkbox" checked={chosen.includes(p.id)}
          onChange={() => onChange(chosen.includes(p.id) ? chosen.filter((id) => id !== p.id) : [...chosen, p.id])} /> {p.name}</label>
      ))}
    </fieldset>
  );
}

function TeamCard({ team, people, manage, act }: { team: Team; people: User[]; manage: boolean; act: (w: () => Promise<unknown>) => Promise<boolean> }) {
  const [members, setMembers] = useState(team.members);
  const nameOf = (id: string) => people.find((p) => p.id === id)?.name ?? 'a former user';
  return (
    <section class="admin-card" aria-label={`Team ${team.name}`}>
      <h2>{team.name}</h2>
      {manage ? (
        <form onSubmit={(e) => { e.preventDefault(); void act(() => call(`/v1/teams/${team.id}/members`, 'PUT', { members })); }}>
          <MemberPicker legend={`Members of ${team.name}`} people={people} chosen={members} onChange={setMembers} />
          <button type="submit">Save members of {team.name}</button>{' '}
          <button type="button" onClick={() => confirm(`Delete the team ${team.name}?`) && act(() => call(`/v1/teams/${team.id}`, 'DELETE'))}>Delete {team.name}</button>
        </form>
      ) : <p>{team.members.map(nameOf).join(', ') || 'No members'}</p>}
    </section>
  );
}
