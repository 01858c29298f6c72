/**
 * One WebSocket client for the signed-in console: every (re)connect fetches a fresh
 * single-use ticket over REST (the cookie session), so no token lives in page script.
 */
import { SwitchboardClient } from '@switchboard/client';
import type { ConnectionState } from '@switchboard/client';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';

export function createClient(): SwitchboardClient {
  return new SwitchboardClient({
    url: async () => {
      const { ticket } = await api<{ ticket: string }>('/v1/ws/ticket', { method: 'POST', body: {} });
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      return `${scheme}//${location.host}/v1/ws?ticket=${encodeURIComponent(ticket)}`;
    },
    WebSocket: globalThis.WebSocket,
  } as ConstructorParameters<typeof SwitchboardClient>[0]);
}

/** The connection's state, re-rendered on every change. */
export function useConnection(client: SwitchboardClient): ConnectionState {
  const [state, setState] = useState<ConnectionState>(client.state);
  useEffect(() => client.on('state', setState), [client]);
  return state;
}
