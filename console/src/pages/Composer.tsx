/**
 * The reply area, by the viewer's role: the Message box and Send for the active
 * responder, "Answered by <name>" for observers, "Start chatting" when nobody answers.
 * Typing "/" opens the templates; Enter inserts the chosen one, Enter in the box sends.
 */
import type { Message, MessengerRole, SwitchboardClient } from '@switchboard/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, reasonOf } from '../api';

interface Template { id: string; name: string; shortcut?: string | null; body: string }

interface ComposerProps {
  client: SwitchboardClient; conversationId: string; role: MessengerRole | null; canTemplates: boolean;
  onError: (e: string) => void; onSent: (m: Message) => void;
}

export function Composer({ client, conversationId, role, canTemplates, onError, onSent }: ComposerProps) {
  return (
    <section role="region" aria-label="Reply" class="composer">
      {role === null && <p class="muted">Joining…</p>}
      {role?.kind === 'answered_by' && <p class="answered-by">Answered by {role.user.name}</p>}
      {role?.kind === 'start_chatting' && (
        <button type="button" class="primary" onClick={() => client.take(conversationId).catch((e) => onError(reasonOf(e)))}>Start chatting</button>
      )}
      {role?.kind === 'active' && (
        <MessageBox client={client} conversationId={conversationId} canTemplates={canTemplates} onError={onError} onSent={onSent} />
      )}
    </section>
  );
}

function MessageBox({ client, conversationId, canTemplates, onError, onSent }: Omit<ComposerProps, 'role'>) {
  const [text, setText] = useState('');
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [choice, setChoice] = useState<Template[] | null>(null);
  const [index, setIndex] = useState(0);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (canTemplates) api<Template[]>('/v1/templates').then(setTemplates, () => setTemplates([]));
  }, [canTemplates]);

  function changed(value: string) {
    setText(value);
    client.typing(conversationId);
    if (value.startsWith('/') && templates) {
      const wanted = value.slice(1).toLowerCase();
      setChoice(templates.filter((t) => (t.shortcut ?? t.name).toLowerCase().includes(wanted) || t.name.toLowerCase().includes(wanted)));
      setIndex(0);
    } else {
      setChoice(null);
    }
  }

  function insert(template: Template) {
    setText(template.body);
    setChoice(null);
    input.current?.focus();
  }

  async function send() {
    const body = text.trim();
    if (!body) return;
    setText('');
    try {
      onSent(await client.send(conversationId, body));
    } catch (refusal) {
      setText(body);
      onError(reasonOf(refusal));
    }
  }

  function keyDown(event: KeyboardEvent) {
    if (choice && choice.length > 0) {
      if (event.key === 'ArrowDown') { event.preventDefault(); setIndex((i) => (i + 1) % choice.length); return; }
      if (event.key === 'ArrowUp') { event.preventDefault(); setIndex((i) => (i - 1 + choice.length) % choice.length); return; }
      if (event.key === 'Enter') { event.preventDefault(); insert(choice[index]); return; }
      if (event.key === 'Escape') { event.preventDefault(); setChoice(null); return; }
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void send();
    }
  }

  const listId = `templates-${conversationId}`;
  const open = choice !== null && choice.length > 0;
  return (
    <form class="message-form" onSubmit={(e) => { e.preventDefault(); void send(); }}>
      <label class="field grow"><span>Message</span>
        <textarea ref={input} rows={2} value={text}
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${index}` : undefined}
          onInput={(e) => changed((e.currentTarget as HTMLTextAreaElement).value)} onKeyDown={keyDown} />
      </label>
      {open && (
        <ul role="listbox" id={listId} aria-label="Templates" class="templates">
          {choice.map((t, i) => (
            <li key={t.id} id={`${listId}-${i}`} role="option" aria-selected={i === index}
              onMouseDown={(e) => e.preventDefault()} onClick={() => insert(t)}>
              <strong>{t.name}</strong> <span class="muted">{t.body}</span>
            </li>
          ))}
        </ul>
      )}
      <button type="submit" class="primary">Send</button>
    </form>
  );
}
