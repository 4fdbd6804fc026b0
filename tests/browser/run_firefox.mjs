// Browser tests in headless Firefox ESR. No test framework drives Debian's Firefox, so each page
// POSTs its result to `webaccel serve --accept-results` and this runner waits for the file:
//   [WEBACCEL_DIST=build/DIR/dist] node tests/browser/run_firefox.mjs [scenario-name ...]
// WEBACCEL_DIST: the wasm build of a build directory of one's own instead of web/dist.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepare, serve, SCENARIOS, summary, firefoxPage } from './harness.mjs';

const PORT = Number(process.env.WEBACCEL_TEST_PORT ?? 18280);
const TIMEOUT_MS = 300_000;
const DIST = process.env.WEBACCEL_DIST ? `&dist=/${process.env.WEBACCEL_DIST.replace(/\/?$/, '/')}` : '';
const wanted = process.argv.slice(2);
const selected = SCENARIOS.filter((x) => !wanted.length || wanted.includes(x.name));
prepare(selected);
const results = mkdtempSync(join(tmpdir(), 'webaccel-results-'));
const isolated = await serve({ port: PORT, resultsDir: results });
const open = await serve({ port: PORT + 1, isolation: false, resultsDir: results });
console.log(execFileSync('firefox-esr', ['--version']).toString().trim());
let failures = 0;
try {
  for (const s of selected) {
    const base = s.isolation === false ? open.url : isolated.url;
    const url = `${base}/tests/browser/page.html?scenario=${s.scenario}&threads=${s.threads}&post=${s.name}.json${DIST}`;
    const result = await firefoxPage(url, join(results, `${s.name}.json`), s.timeoutMs ?? TIMEOUT_MS);
    console.log(summary(s.name, result));
    if (!result.ok) console.log(JSON.stringify(result, null, 1).slice(0, 3000));
    failures += !result.ok;
  }
} finally {
  isolated.stop();
  open.stop();
  rmSync(results, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
