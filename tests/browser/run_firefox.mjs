// Browser tests in headless Firefox ESR. No test framework drives Debian's Firefox, so each page
// POSTs its result to `webaccel serve --accept-results` and this runner waits for the file:
//   node tests/browser/run_firefox.mjs [scenario-name ...]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { prepare, serve, SCENARIOS, summary } from './harness.mjs';

const PORT = Number(process.env.WEBACCEL_TEST_PORT ?? 18280);
const TIMEOUT_MS = 300_000;
const wanted = process.argv.slice(2);
// Quiet start-up: no first-run pages, no update or telemetry traffic.
const PREFS = {
  'browser.shell.checkDefaultBrowser': false, 'browser.startup.homepage_override.mstone': 'ignore',
  'datareporting.policy.dataSubmissionEnabled': false, 'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.enabled': false, 'browser.aboutwelcome.enabled': false, 'dom.max_script_run_time': 0,
};

prepare();
const results = mkdtempSync(join(tmpdir(), 'webaccel-results-'));
const isolated = await serve({ port: PORT, resultsDir: results });
const open = await serve({ port: PORT + 1, isolation: false, resultsDir: results });
console.log(execFileSync('firefox-esr', ['--version']).toString().trim());
let failures = 0;
try {
  for (const s of SCENARIOS.filter((x) => !wanted.length || wanted.includes(x.name))) {
    const profile = mkdtempSync(join(tmpdir(), 'webaccel-firefox-'));
    writeFileSync(join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n'));
    const base = s.isolation === false ? open.url : isolated.url;
    const out = join(results, `${s.name}.json`);
    const url = `${base}/tests/browser/page.html?scenario=${s.scenario}&threads=${s.threads}&post=${s.name}.json`;
    const firefox = spawn('firefox-esr', ['--headless', '--no-remote', '--profile', profile, url], { stdio: 'ignore' });
    const start = Date.now();
    while (!existsSync(out) && Date.now() - start < TIMEOUT_MS && firefox.exitCode === null) await sleep(250);
    firefox.kill();
    await sleep(500);
    rmSync(profile, { recursive: true, force: true });
    const result = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8'))
      : { ok: false, error: firefox.exitCode !== null ? `firefox exited (${firefox.exitCode})` : `no result in ${TIMEOUT_MS / 1000} s` };
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
