/**
 * One conversation as seed 000 describes it: observers above the input; the input only
 * for the active responder; "Answered by <name>" for observers while someone answers;
 * "Start chatting" when nobody does. Opening it joins it (the server makes the first
 * viewer who may answer active at once); leaving the page leaves it.
 */
import type { Message, MessengerRole, Presence, SwitchboardClient } from '@switchboard/client';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, reasonOf } from '../api';
import { bodyText } from '../format';
import { can, type Me } from '../session';
import { Composer } from './Composer';
import { useConnectedOnce } from '../live';

interface UserView { id: string; name: string; deactivated_at?: string | null }

export function Conversation({ client, me, conversationId }: { client: SwitchboardClient; me: Me; conversationId: string }) {
  const [presence, setPresence] = useState<Presence | null>(null);
  const [role, setRole] = useState<MessengerRole | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [typing, setTyping] = useState<{ name: string; until: number } | null>(null);
  const [status, setStatus] = useState<'open' | 'resolved'>('open');
  const [contact, setContact] = useState('');
  const [error, setError] = useState('');
  const presenceRef = useRef<Presence | null>(null);
  presenceRef.current = presence;
  const connected = useConnectedOnce(client);

  // Joined once the socket is open; after a reconnect the client re-joins by itself.
  useEffect(() => {
    if (!connected) return;
    let current = true;
    const addMessages = (incoming: Message[]) => setMessages((list) => mergeMessages(list, incoming));
    const offs = [
      client.on('presence', (p) => { if (p.conversation_id === conversationId) setPresence(p); }),
      client.on('role', ({ conversationId: id, role: r }) => { if (id === conversationId) setRole(r); }),
      client.on('message', ({ conversation_id, message }) => { if (conversation_id === conversationId) addMessages([message]); }),
      client.on('typing', (event) => {
        if (event.conversation_id !== conversationId) return;
        const name = typistName(event, presenceRef.current);
        if (name) setTyping({ name, until: Date.now() + 5000 });
      }),
      client.on('conversation', (summary) => {
        if (summary.id !== conversationId) return;
        setStatus(summary.status);
        setContact(summary.contact.name || summary.contact.handle);
      }),
      client.on('lock_lost', ({ conversation_id, reason }) => {
        if (conversation_id === conversationId) setError(`You stopped answering (${reason}).`);
      }),
    ];
    client.join(conversationId).then((joined) => {
      if (!current) return;
      setPresence(joined.presence);
      addMessages(joined.messages);
      setRole(client.roleIn(conversationId));
    }, (refusal) => current && setError(reasonOf(refusal)));
    api<{ status: 'open' | 'resolved'; contact: { name: string | null; handle: string } }>(`/v1/conversations/${conversationId}`)
      .then((c) => { if (!current) return; setStatus(c.status); setContact(c.contact.name || c.contact.handle); }, () => {});
    return () => {
      current = false;
      offs.forEach((off) => off());
      client.leave(conversationId).catch(() => {});
    };
  }, [client, conversationId, connected]);

  useEffect(() => {
    if (!typing) return;
    const timer = setTimeout(() => setTyping(null), Math.max(0, typing.until - Date.now()));
    return () => clearTimeout(timer);
  }, [typing]);

  const act = (work: () => Promise<unknown>) => () => {
    setError('');
    work().catch((refusal) => setError(reasonOf(refusal)));
  };

  return (
    <section role="region" aria-label="Conversation" class="conversation">
      <header class="conversation-head">
        <h2>{contact || 'Conversation'}</h2>
        <Actions client={client} me={me} conversationId={conversationId} status={status} role={role} act={act} setError={setError} />
      </header>
      {error && <p role="alert" class="alert">{error}</p>}
      <MessageLog messages={messages} />
      <p class="typing" aria-live="polite">{typing ? `${typing.name} is typing…` : ''}</p>
      <div class="observers-box">
        <span id="observers-label">Observers</span>
        <ul role="list" aria-label="Observers" class="observers">
          {(presence?.observers ?? []).map((o) => <li key={o.user_id}>{o.name}</li>)}
        </ul>
      </div>
      <Composer client={client} conversationId={conversationId} role={role} canTemplates={can(me, 'templates.view')} onError={setError}
        onSent={(m) => setMessages((list) => mergeMessages(list, [m]))} />
    </section>
  );
}

/** The typing event names a user id (or a user); the name comes from the latest presence. */
function typistName(event: object, presence: Presence | null): string | null {
  const e = event as { user_id?: string; user?: { user_id: string; name: string } };
  if (e.user) return e.user.name;
  const everyone = [...(presence?.observers ?? []), ...(presence?.active ? [presence.active] : [])];
  return everyone.find((u) => u.user_id === e.user_id)?.name ?? null;
}

/** Messages by seq, each once: a resume may deliver again what the page already shows. */
export function mergeMessages(list: Message[], incoming: Message[]): Message[] {
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  incoming.forEach((m) => bySeq.set(m.seq, m));
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function MessageLog({ messages }: { messages: Message[] }) {
  const log = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const element = log.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [messages.length]);
  return (
    <div role="log" aria-label="Messages" class="log" ref={log} tabIndex={0}>
      <ul role="list" class="messages">
        {messages.map((m) => (
          <li key={m.seq} class={m.direction === 'inbound' ? 'message inbound' : 'message outbound'}>
            <span class="author">{m.direction === 'inbound' ? 'Customer' : m.author?.name ?? 'Agent'}</span>
            <span class={m.body === null ? 'body hidden-body' : 'body'}>{bodyText(m.body)}</span>
            <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleTimeString()}</time>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Actions({ client, me, conversationId, status, role, act, setError }: {
  client: SwitchboardClient; me: Me; conversationId: string; status: 'open' | 'resolved'; role: MessengerRole | null;
  act: (work: () => Promise<unknown>) => () => void; setError: (e: string) => void;
}) {
  const [users, setUsers] = useState<UserView[]>([]);
  const [assignee, setAssignee] = useState('');
  const mayAssign = can(me, 'conversations.assign');
  useEffect(() => {
    if (!mayAssign) return;
    api<UserView[]>('/v1/users').then((list) => setUsers(list.filter((u) => !u.deactivated_at)), (e) => setError(reasonOf(e)));
  }, [mayAssign]);
  return (
    <div class="actions">
      {can(me, 'conversations.resolve') && (status === 'open'
        ? <button type="button" onClick={act(() => client.resolve(conversationId))}>Resolve</button>
        : <button type="button" onClick={act(() => client.reopen(conversationId))}>Reopen</button>)}
      {mayAssign && (
        <span class="assign">
          <label class="field compact"><span>Assign to</span>
            <select value={assignee} onChange={(e) => setAssignee((e.currentTarget as HTMLSelectElement).value)}>
              <option value="">Choose a person</option>
              {users.map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
            </select>
          </label>
          <button type="button" disabled={!assignee} onClick={act(() => client.assign(conversationId, assignee))}>Assign</button>
        </span>
      )}
      {can(me, 'conversations.take_over') && role?.kind === 'answered_by' && (
        <button type="button" onClick={act(() => client.take(conversationId, true))}>Take over</button>
      )}
      {role?.kind === 'active' && <button type="button" onClick={act(() => client.release(conversationId))}>Release</button>}
    </div>
  );
}
