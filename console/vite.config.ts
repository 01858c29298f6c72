import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

/** The WebSocket client (clients/typescript) lives beside the console; it is bundled from source. */
const client = fileURLToPath(new URL('../clients/typescript/src/index.ts', import.meta.url));

export default defineConfig({
  plugins: [preact()],
  resolve: { alias: { '@switchboard/client': client } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false } },
  server: {
    proxy: {
      '/v1': { target: process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080', ws: true, changeOrigin: false },
    },
  },
});
