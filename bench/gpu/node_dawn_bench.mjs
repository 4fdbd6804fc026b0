// First inference with precompiled vs lazily created pipelines, and decode speed, of the wasm build
// on Chromium's WebGPU implementation (Dawn, through npm `webgpu`'s dawn.node) in Node: the native
// `gpu-bench`'s synthetic llama (random weights of real shapes), driven step by step from here
// (src/wasm/gpu_bench_exports.cpp). Lazy and precompiled runs alternate, each on a fresh wasm module
// and GPUDevice of one Dawn instance (as pages of one browser); the table shows medians of the rounds.
//
//   node --no-experimental-fetch bench/gpu/node_dawn_bench.mjs [--shape smollm2] [--bits 4]
//        [--prompt 8] [--tokens 32] [--rounds 3] [--json FILE] [--fallback] [--dist web/dist]
//
// --fallback (or WEBACCEL_FORCE_FALLBACK=1): Dawn's fallback adapter (SwiftShader), for local runs;
// otherwise a 'high-performance' adapter is requested and a software one is refused.
// --dist: the folder of webaccel-st.{js,wasm} (default web/dist); --webgpu: npm webgpu's folder
// (default: `import('webgpu')`, else tests/browser/node_modules/webgpu).
import { writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gpuModuleNode } from '../../web/node.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'node --no-experimental-fetch bench/gpu/node_dawn_bench.mjs [--shape smollm2,tiny] [--bits 4,8] [--group 32] ' +
  '[--prompt 8] [--tokens 32] [--ctx 512] [--rounds 3] [--json FILE] [--fallback] [--dist DIR] [--webgpu DIR] [--dawn-flag F]';
const SHAPES = ['7b', 'smollm2', 'tiny'];
const BITS = [2, 3, 4, 8];

function parseArgs(argv) {
  const o = { shapes: ['smollm2'], bits: [4], group: 32, prompt: 8, tokens: 32, ctx: 512, rounds: 3, json: null,
    fallback: process.env.WEBACCEL_FORCE_FALLBACK === '1', dist: null, webgpu: null, dawnFlags: [] };
  const int = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: '${v}' is not a positive integer`);
    return n;
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--shape') o.shapes = value().split(',');
    else if (a === '--bits') o.bits = value().split(',').map((b) => int('--bits', b));
    else if (a === '--group') o.group = int(a, value());
    else if (a === '--prompt') o.prompt = int(a, value());
    else if (a === '--tokens') o.tokens = int(a, value());
    else if (a === '--ctx') o.ctx = int(a, value());
    else if (a === '--rounds') o.rounds = int(a, value());
    else if (a === '--json') o.json = value();
    else if (a === '--fallback') o.fallback = true;
    else if (a === '--dist') o.dist = resolve(value());
    else if (a === '--webgpu') o.webgpu = resolve(value());
    else if (a === '--dawn-flag') o.dawnFlags.push(value());
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown option '${a}'\n${USAGE}`);
  }
  for (const s of o.shapes) if (!SHAPES.includes(s)) throw new Error(`--shape: '${s}' is not one of ${SHAPES.join(', ')}`);
  for (const b of o.bits) if (!BITS.includes(b)) throw new Error(`--bits: ${b} is not one of ${BITS.join(', ')}`);
  if (o.tokens < 2) throw new Error('--tokens must be >= 2 (the first step is reported apart)');
  if (o.prompt + o.tokens > o.ctx) throw new Error('--prompt + --tokens exceed --ctx');
  return o;
}

async function importWebgpu(dir) {
  if (dir) return import(pathToFileURL(join(dir, 'index.js')).href);
  try {
    return await import('webgpu');
  } catch {
    return import(pathToFileURL(join(ROOT, 'tests/browser/node_modules/webgpu/index.js')).href);
  }
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

// Waits for the queued read backs and pipeline creations, without settle()'s extra event-loop turn
// (a setTimeout(0), about 1 ms in Node, that would count in every decode step).
async function landed(bridge) {
  while (bridge.pending.size) await Promise.allSettled([...bridge.pending]);
  if (bridge.lostReason) throw new Error(bridge.lostReason);
}

// Each Emscripten module adds process listeners that keep it (and its heap) alive: dropped after its run.
function moduleListeners() {
  return ['uncaughtException', 'unhandledRejection'].map((event) => [event, new Set(process.listeners(event))]);
}
function dropListenersSince(before) {
  for (const [event, old] of before) for (const l of process.listeners(event)) if (!old.has(l)) process.removeListener(event, l);
}

// One load and run on a fresh device and wasm module. gpu: the one instance (dawn.node frees an
// instance that is garbage-collected under live devices, then crashes).
async function runOnce(gpu, o, shape, bits, pipelines) {
  const adapterOptions = o.fallback ? { forceFallbackAdapter: true } : { powerPreference: 'high-performance' };
  const listeners = moduleListeners();
  const { module, bridge } = await gpuModuleNode({ gpu, adapterOptions, distDir: o.dist ?? undefined });
  if (typeof module.GpuDecodeBench !== 'function') {
    bridge.destroy();
    throw new Error('this wasm build has no GpuDecodeBench (built before it was added: rebuild, then repack)');
  }
  if (!o.fallback && bridge.info.adapter_type === 'cpu') {
    bridge.destroy();
    throw new Error(`the adapter is a software one (${bridge.info.adapter}): no GPU reached (pass --fallback to measure it anyway)`);
  }
  const now = () => performance.now();
  let bench;
  try {
    let t = now();
    bench = new module.GpuDecodeBench(shape, bits, o.group, o.ctx);
    const makeWeightsMs = now() - t;
    t = now();
    bench.upload();
    await bridge.finish();
    const loadMs = now() - t;
    let precompileMs = 0;
    if (pipelines === 'precompiled') {
      t = now();
      bench.precompile();
      await landed(bridge);
      precompileMs = now() - t;
    }
    t = now();
    bench.startPrompt(o.prompt);
    await landed(bridge);
    bench.finishStep();
    const firstMs = now() - t;
    const stepMs = [], recordMs = [];
    for (let i = 0; i < o.tokens; ++i) {
      t = now();
      bench.startStep();
      recordMs.push(now() - t);  // the CPU's share: wasm recording and the bridge's WebGPU calls
      await landed(bridge);
      bench.finishStep();
      stepMs.push(now() - t);
    }
    if (bridge.errors.length) throw new Error(`WebGPU errors: ${bridge.errors.slice(0, 3).join(' | ')}`);
    const decodeMs = median(stepMs.slice(1));  // the first step may still compile (lazy)
    const ai = bridge.adapter.info ?? {};  // GPUAdapterInfo's fields are getters: picked one by one
    const adapterInfo = Object.fromEntries(['vendor', 'architecture', 'device', 'description', 'backend', 'type', 'driver']
      .filter((k) => ai[k] !== undefined && ai[k] !== '').map((k) => [k, ai[k]]));
    return { shape, bits, pipelines, ...JSON.parse(bench.info()), backend: bridge.info.backend, adapter_info: adapterInfo,
      make_weights_ms: makeWeightsMs, load_ms: loadMs, precompile_ms: precompileMs, first_inference_ms: firstMs,
      load_to_first_ms: loadMs + precompileMs + firstMs, prompt_tokens: o.prompt, first_step_ms: stepMs[0],
      decode_ms_median: decodeMs, decode_tokens_per_s: 1e3 / decodeMs,
      decode_record_ms_median: median(recordMs.slice(1)), steps: o.tokens, stats: { ...bridge.stats } };
  } finally {
    bench?.delete();
    bridge.destroy();
    dropListenersSince(listeners);
  }
}

function medianRow(runs) {
  const r = { ...runs[0], rounds: runs.length };
  for (const k of ['make_weights_ms', 'load_ms', 'precompile_ms', 'first_inference_ms', 'load_to_first_ms', 'first_step_ms',
    'decode_ms_median', 'decode_record_ms_median']) r[k] = median(runs.map((x) => x[k]));
  r.decode_tokens_per_s = 1e3 / r.decode_ms_median;
  delete r.stats;
  return r;
}

const gainPct = (lazy, pre) => 100 * (1 - pre / lazy);

function table(rows) {
  const f = (x, d = 1) => x.toFixed(d);
  const lines = ['| shape | format | pipelines | load ms | precompile ms | first inference ms | load → first ms | first step ms | decode ms/token | recording ms | tok/s |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.shape} | ${r.format} | ${r.pipelines} | ${f(r.load_ms)} | ${f(r.precompile_ms)} | ${f(r.first_inference_ms)} | ` +
      `${f(r.load_to_first_ms)} | ${f(r.first_step_ms)} | ${f(r.decode_ms_median, 2)} | ${f(r.decode_record_ms_median, 2)} | ${f(r.decode_tokens_per_s)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (typeof globalThis.fetch === 'function') throw new Error('run Node with --no-experimental-fetch (Emscripten 3.1.6 would fetch() the .wasm)');
  const dist = o.dist ?? join(ROOT, 'web/dist');
  if (!existsSync(join(dist, 'webaccel-st.wasm'))) throw new Error(`${dist}/webaccel-st.wasm: missing (make wasm, or --dist)`);
  const webgpu = await importWebgpu(o.webgpu);
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create(o.dawnFlags);
  console.log(`Node ${process.versions.node}, npm webgpu (dawn.node), ${o.fallback ? 'fallback adapter forced' : "powerPreference 'high-performance'"}, ` +
    `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? ''} VK_DRIVER_FILES=${process.env.VK_DRIVER_FILES ?? ''}`);
  const runs = [], rows = [], gains = [];
  for (const shape of o.shapes) {
    for (const bits of o.bits) {
      const byMode = { lazy: [], precompiled: [] };
      for (let round = 0; round < o.rounds; ++round) {
        const order = round % 2 ? ['precompiled', 'lazy'] : ['lazy', 'precompiled'];
        for (const mode of order) {
          const r = await runOnce(gpu, o, shape, bits, mode);
          if (!runs.length) console.log(`adapter: ${JSON.stringify(r.adapter_info)} (type ${r.adapter_type}; ${r.implementation}); ` +
            `shader-f16 ${r.shader_f16}, subgroups ${r.subgroups}, maxStorageBufferBindingSize ${r.max_storage_buffer_binding_size}`);
          console.log(`  round ${round + 1} ${shape} ${r.format} ${mode}: load ${r.load_ms.toFixed(0)} ms, precompile ${r.precompile_ms.toFixed(0)} ms, ` +
            `first inference ${r.first_inference_ms.toFixed(1)} ms, decode ${r.decode_ms_median.toFixed(2)} ms/token ` +
            `(${r.decode_record_ms_median.toFixed(2)} recording; ${r.stats.pipelinesSync} pipelines created at first use, ` +
            `${r.stats.pipelinesAsync} precompiled)`);
          runs.push({ round: round + 1, ...r });
          byMode[mode].push(r);
        }
      }
      const lazy = medianRow(byMode.lazy), pre = medianRow(byMode.precompiled);
      rows.push(lazy, pre);
      gains.push({ shape, format: pre.format, first_inference_gain_pct: gainPct(lazy.first_inference_ms, pre.first_inference_ms),
        load_to_first_gain_pct: gainPct(lazy.load_to_first_ms, pre.load_to_first_ms) });
    }
  }
  const r0 = runs[0];
  let text = `\nWebGPU: ${r0.implementation}, adapter ${r0.adapter} (${r0.adapter_type}${r0.backend ? `, ${r0.backend}` : ''}); ` +
    `${o.prompt}-token prompt, ${o.tokens} decode steps, medians of ${o.rounds} rounds; ` +
    `recording = the CPU time of a step's startStep() (wasm and the bridge's WebGPU calls)\n\n${table(rows)}\n\n`;
  for (const g of gains) {
    text += `${g.shape} ${g.format}: first inference ${g.first_inference_gain_pct.toFixed(0)}% faster precompiled than lazy ` +
      `(target >= 40%: ${g.first_inference_gain_pct >= 40 ? 'met' : 'not met'}); load -> first inference ${g.load_to_first_gain_pct.toFixed(0)}%\n`;
  }
  console.log(text);
  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ node: process.versions.node, options: o, adapter: { adapter: r0.adapter, adapter_type: r0.adapter_type,
      backend: r0.backend, implementation: r0.implementation, info: r0.adapter_info }, rows, gains, runs }, null, 1) + '\n');
    console.log(`JSON: ${o.json}`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(`node_dawn_bench: ${e.kind ? `${e.kind}: ` : ''}${e.message}`);
  process.exit(1);
});
