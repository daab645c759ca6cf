// The minified + gzipped size of the package as a browser app would bundle it
// (esbuild, ES module, everything reachable from `createClient`).
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../src/index.js', import.meta.url));
const result = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', write: false, target: 'es2022' });
const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(JSON.stringify({ minified_bytes: code.length, gzipped_bytes: gzipped }));
if (process.argv.includes('--check') && gzipped > 10 * 1024) {
  console.error(`natsync-client is ${gzipped} bytes gzipped: over the 10 KB budget`);
  process.exit(1);
}
