// Bundles natsync-client (clients/js) into examples/web/natsync-client.js, the one
// file the demo page imports. `scripts/demo` runs it; the browser tests too.
import { build } from '../../clients/js/node_modules/esbuild/lib/main.js';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
await build({
  entryPoints: [here('../../clients/js/src/index.js')],
  outfile: here('natsync-client.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
