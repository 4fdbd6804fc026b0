// A wasm or WebGPU cell in a real browser: `webaccel serve` (cross-origin isolated, so threads
// work) serves bench/cells/cell.html, which loads the model through the JS API and reports.
//   Chromium: Debian's, driven by playwright-core (installed for tests/browser)
//   Firefox ESR: started headless on a fresh profile; the page POSTs its result
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, serve } from '../../tests/browser/harness.mjs';
import { pageProcessPeakMb } from './process_memory.mjs';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic'];
// Headless Chromium exposes WebGPU on SwiftShader only when asked (TOOLCHAIN.md).
const CHROMIUM_WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
const FIREFOX_PREFS = {
  'browser.shell.checkDefaultBrowser': false, 'browser.startup.homepage_override.mstone': 'ignore',
  'datareporting.policy.dataSubmissionEnabled': false, 'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.enabled': false, 'browser.aboutwelcome.enabled': false, 'dom.max_script_run_time': 0,
};
// Headless Firefox ESR exposes WebGPU (on Mesa lavapipe) with these (TOOLCHAIN.md).
const FIREFOX_WEBGPU_PREFS = { 'dom.webgpu.enabled': true, 'gfx.webgpu.ignore-blocklist': true };

// `webaccel serve` on a free port of 18500-18999 (others' tests use fixed ports below it).
async function startServer(resultsDir) {
  let lastError;
  for (let attempt = 0; attempt < 8; ++attempt) {
    const port = 18500 + Math.floor(Math.random() * 500);
    try {
      return await serve({ port, resultsDir });
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

async function chromiumCell(url, spec) {
  const require = createRequire(join(ROOT, 'tests', 'browser', 'package.json'));
  const { chromium } = require('playwright-core');
  const args = [...CHROMIUM_FLAGS, ...(spec.backend === 'webgpu' ? CHROMIUM_WEBGPU_FLAGS : [])];
  const profile = mkdtempSync(join(tmpdir(), 'webaccel-cell-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args });
  try {
    const page = await context.newPage();
    await page.goto(url);
    const result = await page.waitForFunction(() => window.__result, null, { timeout: spec.timeoutMs, polling: 250 })
      .then((h) => h.jsonValue());
    // Playwright starts Chromium as a child of this process.
    return { ...result, ...pageProcessPeakMb(process.pid, 'chromium'), browserVersion: execFileSync(CHROMIUM, ['--version']).toString().trim().replace(/^Chromium /, '').split(' ')[0],
      command: `${CHROMIUM} --headless ${args.join(' ')} --user-data-dir=TMP (playwright-core) ${url.split('?')[0]}` };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function firefoxCell(url, spec, resultsDir) {
  const prefs = { ...FIREFOX_PREFS, ...(spec.backend === 'webgpu' ? FIREFOX_WEBGPU_PREFS : {}) };
  const profile = mkdtempSync(join(tmpdir(), 'webaccel-cell-firefox-'));
  writeFileSync(join(profile, 'user.js'),
    Object.entries(prefs).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n'));
  const resultFile = join(resultsDir, 'cell.json');
  const args = ['--headless', '--no-remote', '--profile', profile, `${url}&post=cell.json`];
  const firefox = spawn('firefox-esr', args, { stdio: 'ignore' });
  try {
    const start = Date.now();
    while (!existsSync(resultFile) && Date.now() - start < spec.timeoutMs && firefox.exitCode === null) await sleep(250);
    await sleep(200);  // the POST may still be landing
    if (!existsSync(resultFile)) {
      throw new Error(firefox.exitCode !== null ? `firefox-esr exited (${firefox.exitCode}) without a result`
        : `firefox-esr: no result within ${spec.timeoutMs / 1000} s`);
    }
    return { ...JSON.parse(readFileSync(resultFile, 'utf8')), ...pageProcessPeakMb(firefox.pid, 'firefox'),
      browserVersion: execFileSync('firefox-esr', ['--version']).toString().trim().replace(/^Mozilla Firefox /, ''),
      command: `firefox-esr --headless --no-remote --profile TMP (user.js: ${Object.keys(prefs).filter((k) => k.includes('webgpu')).join(', ') || 'quiet start-up prefs'}) ${url.split('?')[0]}` };
  } finally {
    firefox.kill();
    await sleep(500);
    rmSync(profile, { recursive: true, force: true });
  }
}

export async function runBrowserCell(spec) {
  const resultsDir = mkdtempSync(join(tmpdir(), 'webaccel-cell-results-'));
  const server = await startServer(resultsDir);
  try {
    const url = `${server.url}/bench/cells/cell.html?spec=${encodeURIComponent(Buffer.from(JSON.stringify(spec)).toString('base64'))}`;
    const result = spec.host === 'chromium' ? await chromiumCell(url, spec) : await firefoxCell(url, spec, resultsDir);
    if (result.status === 'error') throw new Error(`${spec.host}: ${result.error}`);
    return { ...result, hostVersion: result.browserVersion };
  } finally {
    server.stop();
    rmSync(resultsDir, { recursive: true, force: true });
  }
}
