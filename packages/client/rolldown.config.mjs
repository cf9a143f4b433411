// The browser-ready bundle of the client: one minified ES module with the protocol and zod inlined, and its types in one file.
import { defineConfig } from 'rolldown';
import { dts } from 'rolldown-plugin-dts';

export default defineConfig([
  {
    input: { chatfleet: 'src/index.ts' },
    // `ws` is imported only on a runtime without a global WebSocket (Node 20), through a variable specifier: never bundled.
    external: ['ws'],
    platform: 'neutral',
    output: { dir: 'dist', format: 'esm', minify: true, sourcemap: true, entryFileNames: '[name].js' },
  },
  {
    // Types from tsc's per-file declarations (they import nothing outside the package), rolled into one file.
    input: { chatfleet: 'dist/index.d.ts' },
    plugins: [dts({ dtsOnly: true })],
    output: { dir: 'dist', format: 'esm', entryFileNames: '[name].d.ts' },
  },
]);
