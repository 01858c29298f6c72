/**
 * The fixtures every spec uses: `server`, a fresh switchboard process with an
 * empty database (disposed after the test), and `serverEnv` to give it extra
 * settings before it starts (`test.use({ serverEnv: {...} })`).
 */
import { test as base } from '@playwright/test';
import { SwitchboardServer } from './server.js';

export const test = base.extend<{ server: SwitchboardServer; serverEnv: Record<string, string> }>({
  serverEnv: [{}, { option: true }],
  server: async ({ serverEnv }, use, testInfo) => {
    const server = await SwitchboardServer.start({ env: serverEnv });
    await use(server);
    await testInfo.attach('server output', { body: server.output, contentType: 'text/plain' });
    await server.dispose();
  },
});

export { expect } from '@playwright/test';
