// Browser tests in headless Chromium (Debian's, driven by playwright-core):
//   [WEBACCEL_DIST=build/DIR/dist] node tests/browser/run_chromium.mjs [scenario-name ...]
// WEBACCEL_DIST: the wasm build of a build directory of one's own instead of web/dist.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepare, serve, SCENARIOS, summary } from './harness.mjs';

// WebGPU on SwiftShader (no GPU here) for the gpu-* scenarios.
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
const PORT = Number(process.env.WEBACCEL_TEST_PORT ?? 18180);
const DIST = process.env.WEBACCEL_DIST ? `&dist=/${process.env.WEBACCEL_DIST.replace(/\/?$/, '/')}` : '';
const wanted = process.argv.slice(2);
const selected = SCENARIOS.filter((x) => !wanted.length || wanted.includes(x.name));

prepare(selected);
const isolated = await serve({ port: PORT });
const open = await serve({ port: PORT + 1, isolation: false });
const profile = mkdtempSync(join(tmpdir(), 'webaccel-chromium-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
let failures = 0;
let userAgentShown = false;
try {
  for (const s of selected) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`  page error: ${e.message}`));
    const base = s.isolation === false ? open.url : isolated.url;
    await page.goto(`${base}/tests/browser/page.html?scenario=${s.scenario}&threads=${s.threads}${DIST}`);
    const result = await page.waitForFunction(() => window.__result, null, { timeout: s.timeoutMs ?? 300_000, polling: 250 })
      .then((h) => h.jsonValue());
    if (!userAgentShown) console.log(result.userAgent);
    userAgentShown = true;
    console.log(summary(s.name, result));
    if (!result.ok) console.log(JSON.stringify(result, null, 1).slice(0, 3000));
    failures += !result.ok;
    await page.close();
  }
} finally {
  await browser.close();
  isolated.stop();
  open.stop();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
