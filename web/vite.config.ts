/**
 * The dashboard's build: web/ → dist/web/ (served by the hub at /, see src/http/web.ts).
 * `npm run build` runs it after the server's tsc build.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webDir = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: webDir,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // Files named by content hash under assets/: the hub serves them with a year-long cache.
    assetsDir: 'assets',
  },
  server: {
    // `npx vite web` during development: API calls go to a hub running on its default port.
    proxy: { '/api': 'http://127.0.0.1:5400' },
  },
});
