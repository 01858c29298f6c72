/** Inboxes: the channels' inboxes, their group and the team each routes to. */
import { useState } from 'preact/hooks';
import { GroupOptions, type Group } from './Groups';
import { Alert, call, holds, type MeWithGrants, Page, ShownOnce, useAction, useResource } from './kit';

interface Inbox { id: string; name: string; channel: string; group_id: string; team_id?: string | null }
const CHANNELS = ['webchat', 'sms', 'whatsapp', 'messenger', 'email', 'api'];

interface Team { id: string; name: string }

export function Inboxes({ me }: { me: MeWithGrants }) {
  const inboxes = useResource<Inbox[]>('/v1/inboxes');
  const groups = useResource<Group[]>('/v1/groups');
  const teams = useResource<Team[]>('/v1/teams');
  const manage = holds(me, 'inboxes.manage');
  const action = useAction();
  const act = (work: () => Promise<unknown>) => action.run(work).then((ok) => { if (ok) inboxes.reload(); return ok; });
  const [name, setName] = useState('');
  const [channel, setChannel] = useState('webchat');
  const [group, setGroup] = useState('');
  const [created, setCreated] = useState<{ name: string; api_key: string } | null>(null);
  const groupName = (id: string) => groups.data?.find((g) => g.id === id)?.name ?? '';
  const create = async (e: Event) => {
    e.preventDefault();
    await action.run(async () => {
      const inbox = await call<{ name: string; api_key: string }>('/v1/inboxes', 'POST', { name, channel, group_id: group || undefined });
      setCreated(inbox);
      setName('');
      inboxes.reload();
    });
  };
  return (
    <Page title="Inboxes">
      <Alert message={inboxes.error || action.error} />
      {created && <ShownOnce label={`The key of ${created.name}`} secret={created.api_key} />}
      <table class="admin-table">
        <caption>Inboxes</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Channel</th><th scope="col">Group</th><th scope="col">Team</th>{manage && <th scope="col">Change</th>}</tr></thead>
        <tbody>
          {(inboxes.data ?? []).map((inbox) => (
            <InboxRow key={inbox.id} inbox={inbox} manage={manage} groups={groups.data ?? []} teams={teams.data ?? []} groupName={groupName} act={act} />
          ))}
        </tbody>
      </table>
      {manage && (
        <form class="admin-form" onSubmit={create}>
          <h2>New inbox</h2>
          <label>Inbox name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
          <label>Channel <select value={channel} onChange={(e) => setChannel(e.currentTarget.value)}>
            {CHANNELS.map((c) => <option key={c} value={c}>{c}</option>)}</select></label>
          <label>Group <select value={group} onChange={(e) => setGroup(e.currentTarget.value)}>
            <option value="">Top-level group</option><GroupOptions groups={groups.data ?? []} /></select></label>
          <button type="submit">Create inbox</button>
        </form>
      )}
    </Page>
  );
}

function InboxRow({ inbox, manage, groups, teams, groupName, act }: {
  inbox: Inbox; manage: boolean; groups: Group[]; teams: Team[]; groupName: (id: string) => string; act: (w: () => Promise<unknown>) => Promise<boolean>;
}) {
  const [name, setName] = useState(inbox.name);
  const [group, setGroup] = useState(inbox.group_id);
  const [team, setTeam] = useState(inbox.team_id ?? '');
  const teamName = teams.find((t) => t.id === inbox.team_id)?.name ?? 'None';
  return (
    <tr>
      <th scope="row">{inbox.name}</th>
      <td>{inbox.channel}</td>
      <td>{groupName(inbox.group_id)}</td>
      <td>{teamName}</td>
      {manage && (
        <td>
          <form onSubmit={(e) => { e.preventDefault(); void act(() => call(`/v1/inboxes/${inbox.id}`, 'PATCH', { name, group_id: group })); }}>
            <label>Name of {inbox.name} <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>{' '}
            <label>Group of {inbox.name} <select value={group} onChange={(e) => setGroup(e.currentTarget.value)}><GroupOptions groups={groups} /></select></label>{' '}
            <button type="submit">Save {inbox.name}</button>
          </form>
          <form onSubmit={(e) => { e.preventDefault(); void act(() => call(`/v1/inboxes/${inbox.id}/team`, 'PUT', { team_id: team || null })); }}>
            <label>Team of {inbox.name} <select value={team} onChange={(e) => setTeam(e.currentTarget.value)}>
              <option value="">None</option>{teams.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}</select></label>{' '}
            <button type="submit">Set team of {inbox.name}</button>
          </form>
        </td>
      )}
    </tr>
  );
}
