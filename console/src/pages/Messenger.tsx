/**
 * The messenger: folders, the live conversation list of the chosen folder, and the open
 * conversation. One store per page: the list state lives here, fed by the client's events.
 */
import type { Summary, SwitchboardClient } from '@switchboard/client';
import { useEffect, useState } from 'preact/hooks';
import { api, reasonOf } from '../api';
import { assigneeText, contactName, previewOf, queueText } from '../format';
import type { Me } from '../session';
import { Conversation } from './Conversation';
import { useConnection } from '../live';

interface Folder { id: string; name: string; open_count: number }

export function Messenger({ client, me, openId }: { client: SwitchboardClient; me: Me; openId: string | null }) {
  const [folders, setFolders] = useState<Folder[]>([]);
  const [folderId, setFolderId] = useState<string | undefined>(undefined);
  const [cards, setCards] = useState<Summary[]>([]);
  const [lastBodies, setLastBodies] = useState<Record<string, { body: string | null }>>({});
  const [error, setError] = useState('');

  useEffect(() => {
    api<Folder[]>('/v1/folders').then(setFolders, (e) => setError(reasonOf(e)));
  }, []);

  const open = useConnection(client) === 'open';

  // (Re)subscribed whenever the connection opens, so a resume refreshes the whole list.
  useEffect(() => {
    if (!open) return;
    let current = true;
    setError('');
    client.subscribeInbox(folderId).then((list) => current && setCards(sortCards(list)), (e) => current && setError(reasonOf(e)));
    const offs = [
      client.on('conversation', (summary) => setCards((list) => sortCards([summary, ...list.filter((c) => c.id !== summary.id)]))),
      client.on('conversation_removed', ({ conversation_id }) => setCards((list) => list.filter((c) => c.id !== conversation_id))),
      client.on('message', ({ conversation_id, message }) => setLastBodies((m) => ({ ...m, [conversation_id]: message }))),
    ];
    return () => {
      current = false;
      offs.forEach((off) => off());
    };
  }, [client, folderId, open]);

  return (
    <main class="messenger">
      <h1 class="visually-hidden">Messenger</h1>
      <div class="sidebar">
        <FolderList folders={folders} selected={folderId} onSelect={setFolderId} onCreated={(f) => setFolders((l) => [...l, f])} />
        {error && <p role="alert" class="alert">{error}</p>}
        <h2 id="conversations-heading">Conversations</h2>
        <ul role="list" aria-label="Conversations" class="cards">
          {cards.map((card) => (
            <li key={card.id} class={card.id === openId ? 'card-item open' : 'card-item'}>
              <a href={`/conversations/${card.id}`} aria-current={card.id === openId ? 'page' : undefined}>{contactName(card)}</a>
              <span class="preview">{previewOf(card, lastBodies[card.id])}</span>
              <span class="meta">
                {assigneeText(card)}
                {queueText(card) && <> · {queueText(card)}</>}
                {card.status === 'resolved' && <> · Resolved</>}
              </span>
              {card.answered_by && <span class="answered">Answered by {card.answered_by.name}</span>}
            </li>
          ))}
        </ul>
        {cards.length === 0 && <p class="muted">No conversations here.</p>}
      </div>
      <section class="main-pane">
        {openId
          ? <Conversation key={openId} client={client} me={me} conversationId={openId} />
          : <p class="muted placeholder">Choose a conversation.</p>}
      </section>
    </main>
  );
}

/** Newest activity first, like an inbox. */
function sortCards(list: Summary[]): Summary[] {
  return [...list].sort((a, b) => (b.last_message_at ?? '').localeCompare(a.last_message_at ?? ''));
}

function FolderList({ folders, selected, onSelect, onCreated }: {
  folders: Folder[]; selected: string | undefined; onSelect: (id: string | undefined) => void; onCreated: (f: Folder) => void;
}) {
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  async function create(event: Event) {
    event.preventDefault();
    setError('');
    try {
      onCreated(await api<Folder>('/v1/folders', { body: { name } }));
      setName('');
    } catch (refusal) {
      setError(reasonOf(refusal));
    }
  }
  return (
    <nav aria-labelledby="folders-heading">
      <h2 id="folders-heading">Folders</h2>
      <ul role="list" aria-label="Folders" class="folders">
        <li><button type="button" aria-pressed={selected === undefined} onClick={() => onSelect(undefined)}>All conversations</button></li>
        {folders.map((folder) => (
          <li key={folder.id}>
            <button type="button" aria-pressed={selected === folder.id} onClick={() => onSelect(folder.id)}>{folder.name}</button>
          </li>
        ))}
      </ul>
      <form class="inline-form" onSubmit={create}>
        <label class="field compact"><span>New folder</span>
          <input value={name} required onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit">Create folder</button>
      </form>
      {error && <p role="alert" class="alert">{error}</p>}
    </nav>
  );
}
