// Runs one `webaccel bench` cell on a host other than the native binary and writes its result:
//   node --no-experimental-fetch bench/cells/run_cell.mjs SPEC.json RESULT.json
// SPEC (written by src/bench/js_cell.cpp): host (node | chromium | firefox), backend (wasm |
// webgpu), threads, arch, modelPath, modelUrl, text, nCtx, decodeTokens, batch, iterations, timeoutMs.
// RESULT: {status: 'measured' | 'skipped', reason, loadMs, firstMs, iterationMs, prefillMs,
// decodeMs, promptTokens, threads, variant, adapter, hostVersion, browserVersion, memoryMb, memoryNote, command}.
import { readFileSync, writeFileSync } from 'node:fs';
import { runNodeCell } from './node_host.mjs';
import { runBrowserCell } from './browser_host.mjs';

const [specPath, resultPath] = process.argv.slice(2);
if (!specPath || !resultPath) {
  console.error('usage: node --no-experimental-fetch bench/cells/run_cell.mjs SPEC.json RESULT.json');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
try {
  const result = spec.host === 'node' ? await runNodeCell(spec) : await runBrowserCell(spec);
  writeFileSync(resultPath, JSON.stringify(result));
  process.exit(0);  // the threaded wasm's workers would keep Node alive
} catch (e) {
  console.error(`${spec.host}: ${e.stack ?? e}`);
  process.exit(1);
}
