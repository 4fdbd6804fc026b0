// One benchmark cell in a browser page, through the JS API: ?spec=<base64 JSON>[&post=NAME].
// The result goes to window.__result (Chromium, driven by playwright-core) and, with post, to
// `webaccel serve --accept-results` (Firefox, which no framework drives here). Memory is measured
// from outside by the driver (process_memory.mjs): no browser API sees the worker's wasm memory.
import * as webaccel from '../../web/src/index.js';
import { runWorkload } from './workload.js';

const params = new URLSearchParams(location.search);
const spec = JSON.parse(atob(params.get('spec')));

// The adapter the page itself gets from navigator.gpu, or why there is none.
async function webgpuAdapter() {
  if (!navigator.gpu) return { error: 'navigator.gpu is absent in this browser (WebGPU not exposed)' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { error: 'navigator.gpu.requestAdapter() returned no adapter' };
  const i = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
  return { name: [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || 'unnamed adapter' };
}

async function runCell() {
  let adapter = null;
  if (spec.backend === 'webgpu') {
    const a = await webgpuAdapter();
    if (a.error) return { status: 'skipped', reason: a.error };
    adapter = a.name;
  }
  const t0 = performance.now();
  let model;
  try {
    model = await webaccel.load(spec.modelUrl, { backend: spec.backend, threads: spec.threads, cache: false, nCtx: spec.nCtx });
  } catch (e) {
    if (e.kind === 'unsupported') return { status: 'skipped', reason: `webaccel.load({backend: '${spec.backend}'}): ${e.message}`, adapter };
    throw e;
  }
  const loadMs = performance.now() - t0;
  try {
    const info = model.info();
    if (info.backend !== spec.backend) {
      return { status: 'skipped', adapter,
        reason: `webaccel.load({backend: '${spec.backend}'}) ran on '${info.backend}'${info.gpu_note ? `: ${info.gpu_note}` : ''}` };
    }
    const timed = await runWorkload(model, spec);
    // WebGPU runs inside the wasm build: 'webgpu on wasm-simd'.
    const variant = info.backend === 'wasm' ? info.variant : `${info.backend} on ${info.variant}`;
    return { status: 'measured', loadMs, ...timed, threads: info.threads, variant,
      adapter: info.gpu ? `${info.gpu.adapter} (${info.gpu.implementation})` : adapter, crossOriginIsolated };
  } finally {
    model.dispose();
  }
}

(async () => {
  let result;
  try {
    result = await runCell();
  } catch (e) {
    result = { status: 'error', error: `${e.name}: ${e.message}` };
  }
  result.userAgent = navigator.userAgent;
  document.getElementById('log').textContent = JSON.stringify(result, null, 1);
  window.__result = result;
  if (params.get('post')) await fetch(`/__results/${params.get('post')}`, { method: 'POST', body: JSON.stringify(result) });
})();
