// The release's brotli WASM as a first load fetches it, against the committed baseline
// (wasm-baseline.txt): `/` (the main module), `/s/<id>` (main plus the conversation panes'
// modules, from the split manifest) and every module together. Exits 1 when one grew more
// than 5%, so growth of the first load is a decision, not an accident.
//   node end2end/bench/wasm-size.mjs [pkg dir, default target/site/pkg] [hash file]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const pkg = process.argv[2] ?? 'target/site/pkg';
const hashFile = process.argv[3] ?? join(process.env.CARGO_TARGET_DIR ?? 'target', 'release/hash.txt');
const baselineFile = new URL('./wasm-baseline.txt', import.meta.url);

const hashes = Object.fromEntries(readFileSync(hashFile, 'utf8').split('\n')
  .map((line) => line.split(':').map((part) => part.trim())).filter(([k, v]) => k && v));
const br = (stem) => statSync(join(pkg, `${stem}.wasm.br`)).size;
const main = br(`switchboard.${hashes.wasm}`);
let session = main;
if (hashes.manifest) {
  const manifest = JSON.parse(readFileSync(join(pkg, `__wasm_split_manifest.${hashes.manifest}.json`), 'utf8'));
  const point = Object.keys(manifest).find((name) => name.startsWith('conversation_pane_'));
  if (!point) throw new Error('the split manifest has no conversation_pane module');
  session += manifest[point].reduce((sum, stem) => sum + br(stem), 0);
}
const all = readdirSync(pkg).filter((f) => f.endsWith('.wasm.br'))
  .reduce((sum, f) => sum + statSync(join(pkg, f)).size, 0);

const baseline = Object.fromEntries(readFileSync(baselineFile, 'utf8').split('\n')
  .map((line) => line.match(/^(\w+)\s+(\d+)$/)).filter(Boolean).map((m) => [m[1], Number(m[2])]));
let failed = false;
for (const [name, size] of Object.entries({ main, session, all })) {
  const base = baseline[name];
  if (!base) throw new Error(`wasm-baseline.txt has no "${name}" line`);
  const limit = Math.floor(base * 1.05);
  const over = size > limit;
  failed ||= over;
  console.log(`${name.padEnd(8)} ${String(size).padStart(8)} B brotli; baseline ${base}, limit ${limit}${over ? '  GREW' : ''}`);
}
if (failed) {
  console.error('the release WASM grew more than 5% over end2end/bench/wasm-baseline.txt: shrink it, or raise the baseline on purpose (and say why in the commit)');
  process.exit(1);
}
