import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

/** The WebSocket client lives beside the console in the repository; it is bundled from source. */
const client = fileURLToPath(new URL('../clients/typescript/src/index.ts', import.meta.url));
/** Until the client's branch is merged, a placeholder that says so keeps the build working. */
const placeholder = fileURLToPath(new URL('./src/client-placeholder.ts', import.meta.url));

export default defineConfig({
  plugins: [preact()],
  resolve: { alias: { '@switchboard/client': existsSync(client) ? client : placeholder } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false } },
  server: {
    proxy: {
      '/v1': { target: process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080', ws: true, changeOrigin: false },
    },
  },
});
