// What both browser runners need: the native reference, test files, and `webaccel serve` processes.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync, openSync, readSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { nativeReference } from './native_reference.mjs';
import { preparePackage } from './package_fixture.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.WEBACCEL_BIN ?? join(ROOT, 'build', 'release', 'webaccel');
const MODELS = join(ROOT, 'models');

// The files the pages fetch besides the models: the native reference and a truncated GGUF, and
// for the package scenarios the package (package_fixture.mjs).
export function prepare(scenarios = []) {
  if (!existsSync(join(ROOT, 'web', 'dist', 'webaccel-mt.js'))) throw new Error('web/dist is empty: run `make wasm`');
  const gguf = join(MODELS, 'smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
  const golden = JSON.parse(readFileSync(join(ROOT, 'tests', 'golden', 'smollm2_greedy.json'), 'utf8'));
  nativeReference({ bin: BIN, gguf, golden, outDir: join(ROOT, 'build', 'wasm', 'reference') });
  const testdata = join(ROOT, 'build', 'wasm', 'testdata');
  mkdirSync(testdata, { recursive: true });
  const head = Buffer.alloc(30 << 20);
  const fd = openSync(gguf, 'r');
  readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  writeFileSync(join(testdata, 'truncated.gguf'), head);
  if (scenarios.some((s) => s.package)) preparePackage({ bin: BIN, root: ROOT });
}

// Starts `webaccel serve` and resolves once it listens; returns {url, stop}.
export function serve({ port, isolation = true, resultsDir = null }) {
  const args = ['serve', '--root', ROOT, '--port', String(port), isolation ? '--isolation' : '--no-isolation'];
  if (resultsDir) args.push('--accept-results', resultsDir);
  const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('serving')) resolve({ url: `http://127.0.0.1:${port}`, stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`webaccel serve exited (${code}): ${err}`)));
  });
}

export const SCENARIOS = [
  { name: 'goldens-1thread', scenario: 'goldens', threads: 1 },
  { name: 'goldens-2threads', scenario: 'goldens', threads: 2 },
  { name: 'cache', scenario: 'cache', threads: 2 },
  { name: 'abort', scenario: 'abort', threads: 2 },
  { name: 'bad-input', scenario: 'badInput', threads: 2 },
  { name: 'no-isolation', scenario: 'noIsolation', threads: 4, isolation: false },
  { name: 'gpu-device', scenario: 'gpuDevice', threads: 1 },
  { name: 'gpu-kernels', scenario: 'gpuKernels', threads: 1 },
  // Minutes each on software WebGPU (a 5-token SmolLM2 prompt takes about 1.5 minutes on SwiftShader).
  { name: 'gpu-goldens', scenario: 'gpuGoldens', threads: 1, timeoutMs: 1_200_000 },
  { name: 'gpu-absent', scenario: 'gpuAbsent', threads: 1 },
  { name: 'gpu-lost', scenario: 'gpuLost', threads: 1, timeoutMs: 900_000 },
  // Webaccel packages (4-bit SmolLM2, 8-bit MiniLM): native tokens and embeddings, reload from the Cache API,
  // a bad cached shard, a bad server shard.
  { name: 'package', scenario: 'package', threads: 2, package: true },
  { name: 'package-bad', scenario: 'packageBad', threads: 1, package: true },
];

export function summary(name, r) {
  const bits = [];
  if (r.smollm2) {
    bits.push(`SmolLM2 agree-with-native ${r.smollm2.rows.map((x) => `${x.agreeNative}/${x.n}`).join(',')},` +
      ` logits rel-L2 vs llama.cpp max ${Math.max(...r.smollm2.rows.map((x) => x.logitsRelL2Llama)).toExponential(2)},` +
      ` vs the nearer of llama.cpp and native max` +
      ` ${Math.max(...r.smollm2.rows.map((x) => Math.min(x.logitsRelL2Llama, x.logitsRelL2Native))).toExponential(2)}` +
      ` (bound ${r.smollm2.bound.toExponential(2)}),` +
      ` logits rel-L2 vs native max ${Math.max(...r.smollm2.rows.map((x) => x.logitsRelL2Native)).toExponential(2)},` +
      ` decode ${(r.smollm2.rows.reduce((s, x) => s + x.decodeTokensPerSecond, 0) / r.smollm2.rows.length).toFixed(1)} tok/s`);
  }
  if (r.minilm) bits.push(`MiniLM worst cos ${r.minilm.worst.toFixed(6)}`);
  if (r.coldLoadMs) bits.push(`load cold ${r.coldLoadMs.toFixed(0)} ms, warm ${r.warmLoadMs.toFixed(0)} ms`);
  if (r.checks) bits.push(JSON.stringify(r.checks));
  if (r.downloaded) bits.push(`downloaded bytes cold ${r.downloaded.cold}, reload ${r.downloaded.warm}, after spoiling 2 cached shards ${r.downloaded.healed}`);
  if (r.corrupt?.message) bits.push(r.corrupt.message);
  if (r.bert) bits.push(`MiniLM package worst cos vs native ${r.bert.worst.toFixed(6)}`);
  if (r.gpuSelftest) bits.push(gpuSummary(r.gpuSelftest));
  if (r.error) bits.push(r.error);
  if (r.info?.variant) bits.push(`${r.info.variant}, ${r.info.threads} thread(s), backend ${r.info.backend}`);
  if (r.info?.gpu) bits.push(`${r.info.gpu.implementation} on ${r.info.gpu.adapter}`);
  if (r.wasmTokens) bits.push(`tokens ${r.tokens.join(',')} (wasm ${r.wasmTokens.join(',')})`);
  return `${r.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(18)} ${bits.join(' | ')}`;
}

function gpuSummary(g) {
  const parts = Object.entries(g.results ?? {}).map(([which, res]) => {
    const worst = Math.max(0, ...res.cases.filter((c) => c.max_error !== undefined).map((c) => c.max_error));
    const failed = res.cases.filter((c) => !c.ok).map((c) => c.name);
    return `${which}: ${res.cases.length - failed.length}/${res.cases.length} cases ok, max error ${worst.toExponential(2)},` +
      ` ${(res.ms / 1000).toFixed(1)} s${failed.length ? ` FAILED: ${failed.join('; ')}` : ''}`;
  });
  if (g.errors?.length) parts.push(`WebGPU errors: ${g.errors.slice(0, 3).join(' | ')}`);
  return `${g.gpu?.implementation} on ${g.gpu?.adapter}: ${parts.join(' | ')}`;
}

// Quiet Firefox start-up: no first-run pages, no update or telemetry traffic, no slow-script dialog.
const FIREFOX_PREFS = {
  'browser.shell.checkDefaultBrowser': false, 'browser.startup.homepage_override.mstone': 'ignore',
  'datareporting.policy.dataSubmissionEnabled': false, 'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.enabled': false, 'browser.aboutwelcome.enabled': false, 'dom.max_script_run_time': 0,
  'dom.webgpu.enabled': true, 'gfx.webgpu.ignore-blocklist': true,  // WebGPU on lavapipe
  // Relaxed SIMD off: the pages must fall back to the SIMD128 build (ctest browser_firefox_simd128).
  ...(process.env.WEBACCEL_FIREFOX_NO_RELAXED_SIMD === '1' ? { 'javascript.options.wasm_relaxed_simd': false } : {}),
  // Any other prefs as JSON, for diagnosis, e.g. '{"javascript.options.wasm_baselinejit": false}'.
  ...JSON.parse(process.env.WEBACCEL_FIREFOX_PREFS || '{}'),
};

// Opens url (which must POST to /__results/NAME) in a fresh headless Firefox profile; returns the
// parsed result, or {ok: false, error} when none arrives in time.
export async function firefoxPage(url, resultFile, timeoutMs) {
  const profile = mkdtempSync(join(tmpdir(), 'webaccel-firefox-'));
  writeFileSync(join(profile, 'user.js'),
    Object.entries(FIREFOX_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n'));
  const firefox = spawn('firefox-esr', ['--headless', '--no-remote', '--profile', profile, url], { stdio: 'ignore' });
  const start = Date.now();
  while (!existsSync(resultFile) && Date.now() - start < timeoutMs && firefox.exitCode === null) await sleep(250);
  firefox.kill();
  await sleep(500);
  rmSync(profile, { recursive: true, force: true });
  if (existsSync(resultFile)) return JSON.parse(readFileSync(resultFile, 'utf8'));
  return { ok: false, error: firefox.exitCode !== null ? `firefox exited (${firefox.exitCode})` : `no result in ${timeoutMs / 1000} s` };
}
