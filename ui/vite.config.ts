/**
 * The admin UI's build: a static single-page app under /ui (served by the gateway from dist/ui).
 * No React plugin: esbuild compiles TSX with the automatic runtime, which is all a production
 * build needs (fast refresh is a dev-server nicety) and keeps `npm install` small.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', legalComments: 'none' },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
    modulePreload: { polyfill: false },
    rollupOptions: {
      // TanStack Query marks its modules "use client" (for React Server Components); meaningless here.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    // `npx vite ui` during development proxies the API to a gateway on :4000.
    proxy: Object.fromEntries(
      ['/v1', '/key', '/user', '/team', '/model', '/health', '/spend', '/global', '/api', '/router', '/config', '/metrics'].map((path) => [path, 'http://127.0.0.1:4000']),
    ),
  },
});
