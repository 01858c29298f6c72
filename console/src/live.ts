/**
 * One WebSocket client for the signed-in console: every (re)connect fetches a fresh
 * single-use ticket over REST (the cookie session), so no token lives in page script.
 */
import { SwitchboardClient } from '@switchboard/client';
import type { ConnectionState } from '@switchboard/client';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api';

export function createClient(): SwitchboardClient {
  return new SwitchboardClient({
    url: async () => {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const base = `${scheme}//${location.host}/v1/ws`;
      try {
        const { ticket } = await api<{ ticket: string }>('/v1/ws/ticket', { method: 'POST', body: {} });
        return `${base}?ticket=${encodeURIComponent(ticket)}`;
      } catch (refusal) {
        // A server without tickets authenticates the upgrade by the session cookie.
        if (refusal instanceof ApiError && refusal.status === 404) return base;
        throw refusal;
      }
    },
    WebSocket: globalThis.WebSocket,
  });
}

/** The connection's state, re-rendered on every change. */
export function useConnection(client: SwitchboardClient): ConnectionState {
  const [state, setState] = useState<ConnectionState>(client.state);
  useEffect(() => client.on('state', setState), [client]);
  return state;
}

/** True once the connection has been open: work that needs the socket waits for it. */
export function useConnectedOnce(client: SwitchboardClient): boolean {
  const state = useConnection(client);
  const [seen, setSeen] = useState(state === 'open');
  if (state === 'open' && !seen) setSeen(true);
  return seen;
}
