// Runs the wasm build of bench/cpu/decode_products.cpp (relaxed SIMD) in headless Chromium, where
// the relaxed build runs (Node 20's V8 computes the relaxed int8 dot wrongly):
//   cmake --build build/wasm --target webaccel-decode-products && node bench/cpu/run_decode_products.mjs [DIST_DIR] [--tokens N]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(ROOT, 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');
const hasDist = process.argv[2] !== undefined && !process.argv[2].startsWith('--');
const dist = hasDist ? process.argv[2] : 'build/wasm/dist';
const programArgs = process.argv.slice(hasDist ? 3 : 2);  // passed on to the program (--tokens N)
const glue = readFileSync(join(dist, 'webaccel-decode-products.js'), 'utf8');
const wasm = readFileSync(join(dist, 'webaccel-decode-products.wasm')).toString('base64');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.addScriptTag({ content: glue });
  const r = await page.evaluate(async ([b64, args]) => {
    const lines = [];
    const wasmBinary = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    await new Promise((resolve) => {
      createDecodeProducts({ wasmBinary, arguments: args, print: (s) => lines.push(s), printErr: (s) => lines.push(s), onExit: resolve })
        .catch((e) => { lines.push(String(e)); resolve(1); });
    });
    return { lines, userAgent: navigator.userAgent };
  }, [wasm, programArgs]);
  console.log(r.userAgent);
  console.log(r.lines.join('\n'));
} finally {
  await browser.close();
}
