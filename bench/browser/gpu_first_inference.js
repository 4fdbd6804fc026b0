// First inference on WebGPU (load -> first token) with every pipeline created at load
// (precompile: true, createComputePipelineAsync) against pipelines created at first use (lazy), in
// one page: each load is a fresh Worker and GPUDevice, the two modes alternate. Result in
// window.__result (read by gpu_first_inference.mjs).
import * as webaccel from '../../web/src/index.js';

const GGUF = '/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf';
const PROMPT = 'Hello';  // short: software WebGPU takes seconds per token
const ROUNDS = Number(new URLSearchParams(location.search).get('rounds') || 3);
const log = (s) => { document.getElementById('log').textContent += s + '\n'; };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(precompile) {
  const t0 = performance.now();
  const m = await webaccel.load(GGUF, { backend: 'webgpu', precompile, nCtx: 128, threads: 1 });
  const loaded = performance.now();
  const r = await m.generate(PROMPT, { chat: false, temperature: 0, maxTokens: 1 });
  const first = performance.now();
  const info = m.info();
  m.dispose();
  if (info.backend !== 'webgpu') throw new Error(`ran on ${info.backend}: ${info.gpu_note}`);
  return { precompile, loadMs: loaded - t0, firstTokenMs: first - loaded, totalMs: first - t0, token: r.tokens[0], gpu: info.gpu };
}

(async () => {
  let result;
  try {
    await once(true);  // warms the model file into the Cache API and the browser's own caches alike for both modes
    const runs = [];
    for (let i = 0; i < ROUNDS; ++i) {
      for (const precompile of i % 2 ? [true, false] : [false, true]) {
        const r = await once(precompile);
        log(JSON.stringify(r));
        runs.push(r);
      }
    }
    const summary = (p) => {
      const rs = runs.filter((r) => r.precompile === p);
      return { loadMs: median(rs.map((r) => r.loadMs)), firstTokenMs: median(rs.map((r) => r.firstTokenMs)),
        totalMs: median(rs.map((r) => r.totalMs)), runs: rs.length };
    };
    const precompiled = summary(true), lazy = summary(false);
    result = { ok: runs.every((r) => r.token === runs[0].token), precompiled, lazy, runs, gpu: runs[0].gpu,
      speedup: lazy.totalMs / precompiled.totalMs, userAgent: navigator.userAgent };
  } catch (e) {
    result = { ok: false, error: `${e.kind ?? e.name}: ${e.message}` };
  }
  log(JSON.stringify(result, null, 1));
  window.__result = result;
})();
