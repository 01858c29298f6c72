/**
 * The fixtures every spec uses: `server`, a fresh switchboard process with an
 * empty database (disposed after the test); `serverEnv` to give it extra
 * settings before it starts (`test.use({ serverEnv: {...} })`); and
 * `newPage()`, a page in a browser context of its own (one person each),
 * closed after the test.
 */
import { test as base, type Page } from '@playwright/test';
import { SwitchboardServer } from './server.js';

export const test = base.extend<{
  server: SwitchboardServer;
  serverEnv: Record<string, string>;
  newPage: () => Promise<Page>;
}>({
  serverEnv: [{}, { option: true }],
  server: async ({ serverEnv }, use, testInfo) => {
    const server = await SwitchboardServer.start({ env: serverEnv });
    await use(server);
    await testInfo.attach('server output', { body: server.output, contentType: 'text/plain' });
    await server.dispose();
  },
  newPage: async ({ browser }, use) => {
    const contexts: Awaited<ReturnType<typeof browser.newContext>>[] = [];
    await use(async () => {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    });
    await Promise.all(contexts.map((c) => c.close()));
  },
});

export { expect } from '@playwright/test';
