// Opens an HTML report in headless Chromium and checks that its SVG charts rendered: at least
// one chart, every chart laid out with a size, and its bars drawn with a non-zero width.
// Usage: node check_report_in_browser.mjs REPORT.html [SCREENSHOT.png]
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'build/deps/node/package.json'));
const { chromium } = require('playwright-core');

const [report, screenshot] = process.argv.slice(2);
if (!report) {
  console.error('usage: node check_report_in_browser.mjs REPORT.html [SCREENSHOT.png]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--no-first-run', '--disable-quic'],  // playwright gives each launch a fresh profile directory
});
let failed = '';
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(path.resolve(report)).href);
  const charts = await page.$$eval('svg.bar-chart', (svgs) => svgs.map((svg) => {
    const box = svg.getBoundingClientRect();
    const bars = [...svg.querySelectorAll('rect.bar')].map((r) => r.getBBox().width);
    return { width: box.width, height: box.height, bars, title: svg.querySelector('text')?.textContent ?? '' };
  }));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  if (errors.length) failed = `page errors: ${errors.join('; ')}`;
  else if (charts.length === 0) failed = `${report}: no svg.bar-chart rendered`;
  for (const c of charts) {
    if (!(c.width > 0 && c.height > 0)) failed = `${report}: chart "${c.title}" has no size`;
    else if (c.bars.length === 0 || c.bars.some((w) => !(w > 0))) failed = `${report}: chart "${c.title}" has missing or empty bars`;
  }
  if (!failed) console.log(`${report}: ${charts.length} charts rendered in Chromium, ${charts.reduce((n, c) => n + c.bars.length, 0)} bars`);
} finally {
  await browser.close();
}
if (failed) {
  console.error(failed);
  process.exit(1);
}
