// Vite build and dev-server settings: served under /dashboard/, API proxied to the balancer on :3000 in dev.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const balancer = 'http://localhost:3000';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/stats': balancer,
      '/servers': balancer,
      '/metrics': balancer,
      '/healthz': balancer,
      '/readyz': balancer,
    },
  },
});
