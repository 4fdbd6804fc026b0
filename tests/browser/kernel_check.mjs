// Runs the relaxed-SIMD kernel check (src/wasm/kernel_check.cpp) in headless Chromium: Node 20's
// V8 computes i32x4.relaxed_dot_i8x16_i7x16_add_s wrongly (2 x the dot, accumulator dropped), so
// the kernels are checked where the relaxed build actually runs.
//   cmake --build build/wasm --target webaccel-kernel-check && node tests/browser/kernel_check.mjs [DIST_DIR]
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = process.argv[2] ?? 'build/wasm/dist';
const glue = readFileSync(join(dist, 'webaccel-kernel-check.js'), 'utf8');
const wasm = readFileSync(join(dist, 'webaccel-kernel-check.wasm')).toString('base64');
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic'];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
let code = 1;
try {
  const page = await browser.newPage();
  await page.addScriptTag({ content: glue });
  const result = await page.evaluate(async (b64) => {
    const lines = [];
    const wasmBinary = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const status = await new Promise((resolve) => {
      createKernelCheck({ wasmBinary, print: (s) => lines.push(s), printErr: (s) => lines.push(s), onExit: resolve })
        .catch((e) => { lines.push(String(e)); resolve(1); });
    });
    return { status, lines, userAgent: navigator.userAgent };
  }, wasm);
  console.log(result.userAgent);
  for (const line of result.lines) console.log(line);
  code = result.status;
} finally {
  await browser.close();
}
process.exit(code);
