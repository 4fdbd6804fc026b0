// Browser benchmark: webaccel vs wllama (SmolLM2) and transformers.js (MiniLM) in headless
// Chromium, each in a fresh page, plus the native CLI on the same inputs:
//   node bench/browser/run_bench.mjs [--threads 1,2] [--browser chromium|firefox] [--out bench/out/browser.json]
//     [--runs llm-webaccel,embed-webaccel,...] [--simd relaxed,simd128] [--dist build/DIR/dist[,build/DIR2/dist]]
//     [--native BIN[,BIN2]] [--native-simd 512,128]
// --simd: the webaccel builds to measure; 'relaxed' is what the page picks (relaxed SIMD where its
// probe passes, else SIMD128), 'simd128' forces the plain build. --dist: webaccel's wasm build from a
// build directory of one's own instead of web/dist (relative to the repository root); several, comma
// separated, are measured one after the other in the same run (A/B). WEBACCEL_BIN: the native CLI;
// --native: several native CLIs, each measured (the first is WEBACCEL_BIN's default otherwise).
// --native-simd: each native CLI once per listed WEBACCEL_CPU_SIMD (128: SSE4, as wide as wasm's
// SIMD; 256: AVX2; 512: the best the CPU has), to tell vector width from browser overhead.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { serve, ROOT, BIN, firefoxPage } from '../../tests/browser/harness.mjs';

// playwright-core is installed once, for the browser tests.
const require = createRequire(join(ROOT, 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');
const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const threadList = arg('--threads', '1,2').split(',').map(Number);
const browserName = arg('--browser', 'chromium');
const outFile = arg('--out', join(ROOT, 'bench', 'out', `browser-${browserName}.json`));
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic'];
const RUNS = arg('--runs', 'llm-webaccel,llm-wllama,embed-webaccel,embed-transformers,embed-transformers-batch,ttft-webaccel').split(',');
const SIMD = arg('--simd', 'relaxed').split(',');
const DISTS = arg('--dist', null)?.split(',') ?? [null];
const NATIVE_BINS = arg('--native', null)?.split(',') ?? [BIN];
const NATIVE_SIMD = arg('--native-simd', null)?.split(',') ?? [null];

// The native engine on the same prompt (tokenized the same way) and sentences.
function native(threads, bin = BIN, simd = null) {
  const env = simd ? { ...process.env, WEBACCEL_CPU_SIMD: simd } : process.env;
  const gguf = join(ROOT, 'models', 'smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
  const json = join(tmpdir(), `webaccel-native-${threads}.json`);
  const prompt = 'The history of the printing press begins in the fifteenth century, when Johannes Gutenberg ' +
    'combined movable metal type, oil-based inks and a wooden press adapted from wine making. Within fifty years';
  const rows = [];
  for (let i = 0; i < 3; ++i) {
    execFileSync(bin, ['generate', '-m', gguf, '-p', prompt, '--no-chat', '-n', '64', '--temperature', '0', '--ignore-eos', '-q',
      '-c', '512', '-t', String(threads), '--json', json], { stdio: 'ignore', env });
    rows.push(JSON.parse(readFileSync(json, 'utf8')));
  }
  const med = (k) => rows.map((r) => r[k]).sort((a, b) => a - b)[1];
  const sentences = Array.from({ length: 32 }, (_, i) => [
    'The cat sits on the mat while the rain falls outside.',
    'Investors sold shares as prices dropped sharply in the morning session.',
    'A kitten rests on a warm rug near the fireplace.',
    'The committee will publish its final report on renewable energy next spring.',
  ][i % 4] + ` (${i})`);
  const err = spawnSync(bin, ['embed', '-m', join(ROOT, 'models', 'minilm'), '-t', String(threads), '-o', '/dev/null', ...sentences],
    { stdio: ['ignore', 'ignore', 'pipe'], env }).stderr.toString();
  return { threads, bin, cpuSimd: rows[0].cpu_simd, promptTokensPerSecond: med('prompt_tokens_per_second'), decodeTokensPerSecond: med('decode_tokens_per_second'),
    sentencesPerSecond: Number(err.match(/([\d.]+) sentences\/s/)?.[1]) };
}

const resultsDir = mkdtempSync(join(tmpdir(), 'webaccel-bench-results-'));
const server = await serve({ port: 18380, resultsDir });
const profile = mkdtempSync(join(tmpdir(), 'webaccel-bench-'));
const browser = browserName === 'chromium'
  ? await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS }) : null;
const results = { date: new Date().toISOString(), cpu: cpus()[0].model, cores: cpus().length, loadavgBefore: loadavg(),
  browserName, browserVersion: execFileSync('dpkg-query', ['-W', '-f', '${Version}', browserName === 'chromium' ? 'chromium' : 'firefox-esr']).toString().trim(),
  browser: [], native: [] };

async function measure(run, threads, simd, dist) {
  const url = `${server.url}/bench/browser/bench.html?run=${run}&threads=${threads}${simd === 'simd128' ? '&relaxed=0' : ''}${dist && run.endsWith('-webaccel') ? `&dist=/${dist.replace(/\/?$/, '/')}` : ''}`;
  const tag = `${run}-${threads}-${simd}-${(dist ?? 'web/dist').replace(/[^A-Za-z0-9]+/g, '_')}`;
  if (!browser) return firefoxPage(`${url}&post=${tag}.json`, join(resultsDir, `${tag}.json`), 600_000);
  const page = await browser.newPage();
  await page.goto(url);
  const r = await page.waitForFunction(() => window.__result, null, { timeout: 600_000, polling: 500 }).then((h) => h.jsonValue());
  await page.close();
  return r;
}
try {
  for (const threads of threadList) {
    for (const bin of NATIVE_BINS) {
      for (const simd of NATIVE_SIMD) {
        results.native.push(native(threads, bin, simd));
        console.log(JSON.stringify(results.native.at(-1)));
      }
    }
    for (const run of RUNS) {
      for (const simd of run.endsWith('-webaccel') ? SIMD : ['relaxed']) {
        for (const dist of run.endsWith('-webaccel') ? DISTS : [null]) {
          const r = await measure(run, threads, simd, dist);
          delete r.userAgent;
          if (dist) r.dist = dist;
          console.log(JSON.stringify(r));
          results.browser.push({ threads, ...r });
        }
      }
    }
  }
} finally {
  await browser?.close();
  server.stop();
  rmSync(profile, { recursive: true, force: true });
  rmSync(resultsDir, { recursive: true, force: true });
}
results.loadavgAfter = loadavg();
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(results, null, 1));
console.log(`wrote ${outFile}`);
