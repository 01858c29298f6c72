/**
 * The supervisor's live view: every open conversation with who answers and who watches it,
 * the Unassigned queue in order, and each agent's availability and load against capacity.
 *
 * The list and the queue come from the inbox subscription (its cards carry the assignee,
 * "Answered by" and the queue position); who watches comes from watching each open
 * conversation silently (`join` with `watch`), which lists the supervisor nowhere; the
 * agents come from `subscribe_agents`. All three are re-established by the client after a
 * reconnect, and this page re-reads the lists when the connection opens again.
 */
import type { AgentStatus, Presence, Summary, SwitchboardClient } from '@switchboard/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { reasonOf } from '../api';
import { contactName } from '../format';
import { useConnection } from '../live';

/** Stays under the server's default of 200 conversations viewed per connection. */
export const MAX_WATCHED = 150;

export function Supervisor({ client }: { client: SwitchboardClient }) {
  const open = useConnection(client) === 'open';
  const [cards, setCards] = useState<Summary[]>([]);
  const [presences, setPresences] = useState<Record<string, Presence>>({});
  const [agents, setAgents] = useState<AgentStatus[]>([]);
  const [error, setError] = useState('');

  useEffect(() => {
    if (!open) return;
    let current = true;
    const fail = (refusal: unknown) => current && setError(reasonOf(refusal));
    setError('');
    client.subscribeInbox().then((list) => current && setCards(list.filter(isOpen)), fail);
    client.subscribeAgents().then((list) => current && setAgents(byName(list)), fail);
    const offs = [
      client.on('conversation', (card) => setCards((list) => {
        const rest = list.filter((c) => c.id !== card.id);
        return isOpen(card) ? [...rest, card] : rest;
      })),
      client.on('conversation_removed', ({ conversation_id }) => setCards((list) => list.filter((c) => c.id !== conversation_id))),
      client.on('presence', (presence) => setPresences((all) => ({ ...all, [presence.conversation_id]: presence }))),
      client.on('agent_status', (agent) => setAgents((list) => byName([...list.filter((a) => a.user_id !== agent.user_id), agent]))),
      client.on('agent_removed', ({ user_id }) => setAgents((list) => list.filter((a) => a.user_id !== user_id))),
    ];
    return () => {
      current = false;
      offs.forEach((off) => off());
      client.unsubscribeAgents();
    };
  }, [client, open]);

  const watched = useWatching(client, open, cards);
  const queue = cards.filter((c) => c.queue_position != null).sort((a, b) => a.queue_position! - b.queue_position!);
  const conversations = [...cards].sort((a, b) => (a.last_message_at ?? '').localeCompare(b.last_message_at ?? ''));

  return (
    <main class="supervisor">
      <h1>Supervisor</h1>
      {error && <p role="alert" class="alert">{error}</p>}
      <section aria-labelledby="agents-heading">
        <h2 id="agents-heading">Agents</h2>
        <table class="admin-table" aria-labelledby="agents-heading">
          <thead><tr><th scope="col">Agent</th><th scope="col">Availability</th><th scope="col">Console</th><th scope="col">Load</th></tr></thead>
          <tbody>
            {agents.map((agent) => (
              <tr key={agent.user_id} data-testid="agent-row">
                <th scope="row">{agent.name ?? agent.user_id}</th>
                <td>{agent.availability === 'available' ? 'Available' : 'Away'}</td>
                <td>{agent.online ? 'Online' : 'Offline'}</td>
                <td>{`${agent.load} / ${agent.capacity}`}{agent.capacity > 0 && agent.load >= agent.capacity && ' (full)'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {agents.length === 0 && <p class="muted">No agents answer where you assign.</p>}
      </section>
      <section aria-labelledby="queue-heading">
        <h2 id="queue-heading">Unassigned queue</h2>
        <ol class="queue" aria-labelledby="queue-heading">
          {queue.map((card) => (
            <li key={card.id} data-testid="queue-item">
              <a href={`/conversations/${card.id}`}>{contactName(card)}</a>
              {card.last_message_at && <span class="muted"> · waiting since {new Date(card.last_message_at).toLocaleTimeString()}</span>}
            </li>
          ))}
        </ol>
        {queue.length === 0 && <p class="muted">Nobody is waiting.</p>}
      </section>
      <section aria-labelledby="open-heading">
        <h2 id="open-heading">Open conversations</h2>
        <table class="admin-table" aria-labelledby="open-heading">
          <thead><tr><th scope="col">Contact</th><th scope="col">Assigned to</th><th scope="col">Answered by</th><th scope="col">Watching</th></tr></thead>
          <tbody>
            {conversations.map((card) => {
              const presence = presences[card.id];
              return (
                <tr key={card.id} data-testid="conversation-row">
                  <th scope="row"><a href={`/conversations/${card.id}`}>{contactName(card)}</a></th>
                  <td>{card.assignee ? card.assignee.name : card.queue_position != null ? `Unassigned (#${card.queue_position})` : 'Unassigned'}</td>
                  <td>{card.answered_by ? card.answered_by.name : 'Nobody'}</td>
                  <td>{watched.has(card.id) ? watchersOf(presence) : 'Not watched'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {conversations.length === 0 && <p class="muted">No open conversations.</p>}
        {conversations.length > MAX_WATCHED &&
          <p class="muted">Who watches is shown for {MAX_WATCHED} of {conversations.length} conversations.</p>}
      </section>
    </main>
  );
}

/**
 * Watches the open conversations (at most MAX_WATCHED) and leaves those that closed or went
 * away; the set holds the ids watched now.
 */
function useWatching(client: SwitchboardClient, open: boolean, cards: Summary[]): Set<string> {
  const [watched, setWatched] = useState<Set<string>>(new Set());
  const wanted = cards.slice(0, MAX_WATCHED).map((c) => c.id).sort().join(',');

  useEffect(() => {
    if (!open) return;
    const want = new Set(wanted ? wanted.split(',') : []);
    for (const id of watched) {
      if (!want.has(id)) {
        client.leave(id).catch(() => {});
        setWatched((set) => without(set, id));
      }
    }
    for (const id of want) {
      if (!watched.has(id)) {
        client.watch(id).then(() => setWatched((set) => new Set(set).add(id)), () => {});
      }
    }
  }, [client, open, wanted]);

  // Leaving the page leaves what it watched (the latest set, not the first render's).
  const latest = useRef(watched);
  latest.current = watched;
  useEffect(() => () => latest.current.forEach((id) => { client.leave(id).catch(() => {}); }), [client]);
  return watched;
}

function watchersOf(presence: Presence | undefined): string {
  if (!presence) return '…';
  const names = presence.observers.map((o) => o.name);
  return names.length ? names.join(', ') : 'Nobody';
}

const isOpen = (card: Summary): boolean => card.status === 'open';
const byName = (list: AgentStatus[]): AgentStatus[] => [...list].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
const without = (set: Set<string>, id: string): Set<string> => {
  const next = new Set(set);
  next.delete(id);
  return next;
};
