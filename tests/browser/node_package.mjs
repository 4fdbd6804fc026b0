// Webaccel packages through the wasm build in Node: 4-bit SmolLM2's greedy tokens equal the native
// CLI's from the same package, progress per component, 8-bit MiniLM's embeddings match the native
// CLI's, a corrupted shard is named with its tensor.
//   node --no-experimental-fetch tests/browser/node_package.mjs [--threads 1,2]
// Env: WEBACCEL_BIN (native CLI that makes the package and the reference, default build/release/webaccel).
import { join } from 'node:path';
import { loadNode } from '../../web/node.mjs';
import { BIN, ROOT } from './harness.mjs';
import { preparePackage } from './package_fixture.mjs';
import { packageTokens, progressChecks, corruptPackage, bertPackage } from './package_cases.mjs';

const arg = process.argv.indexOf('--threads');
const threadList = (arg > 0 ? process.argv[arg + 1] : '1').split(',').map(Number);
const fixture = preparePackage({ bin: BIN, root: ROOT });

let failures = 0;
const report = (name, ok, detail) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(26)} ${detail}`);
  failures += !ok;
};
for (const threads of threadList) {
  const events = [];
  const t0 = performance.now();
  const m = await loadNode(fixture.dir, { threads, nCtx: 256, onProgress: (p) => events.push(p) });
  const loadMs = performance.now() - t0;
  const tokens = await packageTokens(m, fixture);
  m.dispose();
  report(`package, ${threads} thread(s)`, tokens.ok,
    `tokens ${tokens.rows.map((r) => r.tokens.join(',')).join(' | ')} (native ${tokens.rows.map((r) => r.native.join(',')).join(' | ')}), load ${loadMs.toFixed(0)} ms`);
  const progress = progressChecks(events, fixture);
  report(`progress, ${threads} thread(s)`, Object.values(progress).every(Boolean), JSON.stringify(progress));
}
const bert = await bertPackage((dir) => loadNode(dir), fixture.bert, fixture.bert.dir);
report('MiniLM package', bert.ok, `${bert.kind}, worst cosine vs native ${bert.worst.toFixed(6)}`);
const corrupt = await corruptPackage((dir, o) => loadNode(dir, { nCtx: 256, ...o }), fixture, join(fixture.corruptDir, 'manifest.json'));
report('corrupted shard', corrupt.ok, `${corrupt.kind}: ${corrupt.message ?? corrupt.error}`);
process.exit(failures ? 1 : 0);
