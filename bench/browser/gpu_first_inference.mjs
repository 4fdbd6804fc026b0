// Shader precompilation in Chromium: first inference (load -> first token) of SmolLM2 on WebGPU
// (SwiftShader here) with pipelines precompiled at load vs created lazily, same page:
//   node bench/browser/gpu_first_inference.mjs [--rounds 3] [--out bench/out/gpu-first-inference.json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { serve, ROOT } from '../../tests/browser/harness.mjs';

const require = createRequire(join(ROOT, 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');
const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const rounds = Number(arg('--rounds', '3'));
const outFile = arg('--out', join(ROOT, 'bench', 'out', 'gpu-first-inference.json'));
// No shader disk cache: every load compiles its pipelines (the in-memory caches of one browser
// process remain, so the modes alternate and both follow a warm-up load).
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader',
  '--disable-gpu-shader-disk-cache'];

const server = await serve({ port: 18480 });
const profile = mkdtempSync(join(tmpdir(), 'webaccel-gpu-bench-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
let result;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${server.url}/bench/browser/gpu_first_inference.html?rounds=${rounds}`);
  result = await page.waitForFunction(() => window.__result, null, { timeout: 1_800_000, polling: 500 }).then((h) => h.jsonValue());
} finally {
  await browser.close();
  server.stop();
  rmSync(profile, { recursive: true, force: true });
}
result.date = new Date().toISOString();
result.cpu = cpus()[0].model;
result.cores = cpus().length;
result.chromium = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'chromium']).toString().trim();
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 1));
if (!result.ok) {
  console.log(JSON.stringify(result, null, 1));
  process.exit(1);
}
const row = (name, s) => `| ${name} | ${s.loadMs.toFixed(0)} | ${s.firstTokenMs.toFixed(0)} | ${s.totalMs.toFixed(0)} |`;
console.log(`Chromium ${result.chromium}, ${result.gpu.implementation} on ${result.gpu.adapter}, ${result.cpu} (${result.cores} cores), ` +
  `median of ${result.precompiled.runs} runs each`);
console.log('| pipelines | load (ms) | first token after load (ms) | load -> first token (ms) |');
console.log('|---|---|---|---|');
console.log(row('precompiled at load (async)', result.precompiled));
console.log(row('lazy (created at first use)', result.lazy));
const saved = (1 - result.precompiled.totalMs / result.lazy.totalMs) * 100;
console.log(`load -> first token with precompilation: ${Math.abs(saved).toFixed(0)}% ${saved >= 0 ? "less" : "more"} time than lazy ` +
  `(lazy / precompiled ${result.speedup.toFixed(2)}x)`);
