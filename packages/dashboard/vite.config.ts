import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [preact()],
  // Absolute asset URLs: index.html is also the answer for deep links (/some/page), where relative URLs
  // would point under /some/.
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle loads faster on first paint than a waterfall of chunks.
    chunkSizeWarningLimit: 200,
  },
});
