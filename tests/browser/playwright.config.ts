import { defineConfig } from '@playwright/test';

/** Chromium from the system (CHROMIUM overrides /usr/bin/chromium); no downloaded browsers. */
export default defineConfig({
  testDir: './specs',
  outputDir: './artifacts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: process.env.BROWSER_TEST_WORKERS ? Number(process.env.BROWSER_TEST_WORKERS) : 2,
  reporter: [['list'], ['html', { outputFolder: 'report', open: 'never' }]],
  use: {
    launchOptions: { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' },
    screenshot: 'on',
    trace: 'retain-on-failure',
  },
});
