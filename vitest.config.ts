// One test run for the whole repository: unit tests beside the code, integration tests under each app's test/.
import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Code under test imports the client's per-file build (fresh after `tsc -b`), not its bundle (see packages/client/package.json).
  ssr: { resolve: { conditions: ['chatfleet-source', ...defaultServerConditions] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'harness/src/**/*.test.ts',
      'harness/test/**/*.test.ts',
      'dashboard/src/**/*.test.{ts,tsx}',
      'dashboard/test/**/*.test.ts',
      'bench/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real servers; two files at a time fit a 2-core machine.
    maxWorkers: 2,
    pool: 'forks',
  },
});
