import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [preact()],
  // Relative asset URLs: the same build works at / and behind a reverse proxy under a sub-path.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle loads faster on first paint than a waterfall of chunks.
    chunkSizeWarningLimit: 200,
  },
});
