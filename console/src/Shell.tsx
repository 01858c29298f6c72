/**
 * The frame of every signed-in page: main navigation (only what the permissions allow),
 * the user's availability and load, sign-out, and the offline banner.
 */
import type { SwitchboardClient } from '@switchboard/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, reasonOf } from './api';
import { useConnection } from './live';
import { AREAS } from './admin/Admin';
import { isAgent, isSupervisor, type Me } from './session';

interface Agent { availability: string; load: number; capacity: number }

export function Shell({ me, client, path, onSignedOut, children }: {
  me: Me; client: SwitchboardClient; path: string; onSignedOut: () => void; children: ComponentChildren;
}) {
  const state = useConnection(client);
  const current = (href: string) => (href === '/' ? path === '/' || path.startsWith('/conversations/') : path.startsWith(href)) ? 'page' : undefined;

  async function signOut() {
    try {
      await api('/v1/auth/logout', { method: 'POST', body: {}, quiet401: true });
    } finally {
      onSignedOut();
    }
  }

  return (
    <div class="shell">
      <header class="topbar">
        <span class="brand">Switchboard</span>
        <nav aria-label="Main">
          <ul role="list" class="nav">
            <li><a href="/" aria-current={current('/')}>Messenger</a></li>
            {isSupervisor(me) && <li><a href="/supervisor" aria-current={current('/supervisor')}>Supervisor</a></li>}
            {AREAS.some((area) => area.allowed(me)) && <li><a href="/admin" aria-current={current('/admin')}>Administration</a></li>}
          </ul>
        </nav>
        {isAgent(me) && <Availability client={client} />}
        <span class="user">{me.user.name}</span>
        <button type="button" onClick={signOut}>Sign out</button>
      </header>
      {state !== 'open' && <p role="alert" class="offline">Offline, reconnecting…</p>}
      {children}
    </div>
  );
}

function Availability({ client }: { client: SwitchboardClient }) {
  const [agent, setAgent] = useState<Agent | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api<Agent>('/v1/agents/me').then(setAgent, (e) => setError(reasonOf(e)));
    // The server's `agent` event is this user's own routing state, on every change.
    return client.on('agent', ({ availability, load, capacity }) => setAgent({ availability, load, capacity }));
  }, [client]);

  async function choose(status: 'available' | 'away') {
    setError('');
    try {
      await api('/v1/agents/me/availability', { method: 'PUT', body: { status } });
      setAgent((a) => (a ? { ...a, availability: status } : a));
    } catch (refusal) {
      setError(reasonOf(refusal));
    }
  }

  return (
    <div class="availability">
      <label class="field compact inline"><span>Availability</span>
        <select value={agent?.availability === 'away' ? 'away' : 'available'}
          onChange={(e) => void choose((e.currentTarget as HTMLSelectElement).value as 'available' | 'away')}>
          <option value="available">Available</option>
          <option value="away">Away</option>
        </select>
      </label>
      <span class="load" data-testid="load" title="Open conversations assigned to you, out of your capacity">
        {agent ? `${agent.load} / ${agent.capacity}` : '– / –'}
      </span>
      {error && <span role="alert" class="alert small">{error}</span>}
    </div>
  );
}
