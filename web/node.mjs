// The Node host of the same wasm build (tests, scripted runs): models are read from disk and run
// in this process; the threaded variant uses worker_threads.
//
//   import { loadNode } from './web/node.mjs';
//   const m = await loadNode('models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', { threads: 2 });
//   const r = await m.generate('Hello', { maxTokens: 16, temperature: 0 });
//   const p = await loadNode('build/q4');   // a webaccel package folder (manifest.json + shards)
//
// WebGPU (backend 'webgpu' | 'auto'): pass `gpu`, a navigator.gpu of Node (npm `webgpu`:
// `create([])`, with its `globals` assigned to globalThis), and `adapterOptions` (SwiftShader needs
// {forceFallbackAdapter: true}). Without `gpu` the npm `webgpu` package is imported if installed.
//
// Run Node with --no-experimental-fetch: Emscripten 3.1.6 otherwise tries fetch() for the .wasm.
// options.relaxedSimd: false keeps the SIMD128 build even where relaxed SIMD works.
import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { openGpuBridge, runGpuSelftests } from './src/gpu_bridge.js';
import { loadPackage, toFileBuffer } from './src/package_loader.js';
import { relaxedSimdWorks, variantFile } from './src/relaxed_simd.js';

const require = createRequire(import.meta.url);
const DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const BERT_TEXT_FILES = ['config.json', 'vocab.txt', 'sentence_bert_config.json', '1_Pooling/config.json',
  'modules.json', 'tokenizer_config.json'];

async function instantiate(threads, dist, bridge, relaxed) {
  const variant = join(dist, variantFile(threads, relaxed));
  if (!existsSync(variant)) throw new Error(`${variant}: missing (run 'make wasm')`);
  return require(variant)({ webaccelWorkers: Math.max(0, threads - 1), webaccelGpu: bridge });
}

// The WebGPU bridge, or {bridge: null, note} saying why WebGPU is unavailable.
async function openGpu(options) {
  if ((options.backend ?? 'wasm') === 'wasm') return { bridge: null };
  if (options._hideWebGpu) return { bridge: null, note: 'WebGPU unavailable, running on wasm: WebGPU is absent (hidden for a test)' };
  let gpu = options.gpu;
  if (!gpu) {
    try {
      const webgpu = await import('webgpu');
      Object.assign(globalThis, webgpu.globals);
      gpu = webgpu.create([]);
    } catch (e) {
      return { bridge: null, note: `WebGPU unavailable, running on wasm: npm webgpu could not be loaded (${e.message})` };
    }
  }
  try {
    return { bridge: await openGpuBridge(gpu, options.adapterOptions ?? {}) };
  } catch (e) {
    return { bridge: null, note: `WebGPU unavailable, running on wasm: ${e.message}` };
  }
}

/**
 * The one-thread wasm module on a fresh WebGPU bridge, for callers that drive the module's GPU
 * classes themselves (self-tests, bench/gpu/node_dawn_bench.mjs); options as loadNode's.
 */
export async function gpuModuleNode(options = {}) {
  const { bridge, note } = await openGpu({ ...options, backend: 'webgpu' });
  if (!bridge) throw new Error(note);
  return { module: await instantiate(1, options.distDir ?? DIST, bridge), bridge };
}

/** The GPU self-tests ('device', 'kernels') on Node's WebGPU; options as loadNode's. */
export async function gpuSelftestNode(options = {}) {
  const { module, bridge } = await gpuModuleNode(options);
  return runGpuSelftests(module, bridge, options.which ?? ['device', 'kernels'], options.seed ?? 1);
}

// A package's shards read from disk; a bad one is an error naming the shard and tensor.
const diskSource = {
  async get(file, { onBytes }) {
    const bytes = await readFile(file);
    onBytes(bytes.length, bytes.length, 'disk');
    return { bytes, from: 'disk' };
  },
};

// {pkg, architecture, ...} of the package folder dir (package_loader.js).
async function openPackage(module, dir, options) {
  const manifestPath = join(dir, 'manifest.json');
  return loadPackage({ module, manifestUrl: manifestPath, manifestBytes: readFileSync(manifestPath),
    source: diskSource, parallel: options.parallel, onProgress: options.onProgress });
}

export async function loadNode(path, options = {}) {
  const threads = options.threads ?? 1;
  const backend = options.backend ?? 'wasm';
  const precompile = options.precompile ?? true;
  const { bridge, note } = await openGpu(options);
  const settle = async () => bridge?.settle();
  // The relaxed-SIMD build only where its probe passes (not Node 20: its relaxed dot is wrong).
  const relaxed = relaxedSimdWorks() && options.relaxedSimd !== false;
  const module = await instantiate(threads, options.distDir ?? DIST, bridge, relaxed);
  const full = resolve(path);
  let model, kind;
  const packageDir = full.endsWith('manifest.json') ? dirname(full) : full;
  if (full.endsWith('.gguf')) {
    const buffer = toFileBuffer(module, path, readFileSync(full));
    model = new module.Llama(buffer, threads, options.nCtx ?? 2048, backend, precompile);
    buffer.delete();
    kind = 'llama';
  } else if (existsSync(join(packageDir, 'manifest.json'))) {
    const { pkg, architecture } = await openPackage(module, packageDir, options);
    kind = architecture;
    try {
      model = kind === 'bert' ? new module.Bert(pkg, threads, backend, precompile)
        : new module.Llama(pkg, threads, options.nCtx ?? 2048, backend, precompile);
    } finally {
      pkg.delete();
    }
  } else {
    const texts = {};
    for (const name of BERT_TEXT_FILES) {
      if (existsSync(join(full, name))) texts[name] = readFileSync(join(full, name), 'utf8');
    }
    const buffer = toFileBuffer(module, join(path, 'model.safetensors'), readFileSync(join(full, 'model.safetensors')));
    model = new module.Bert(path.replace(/\/$/, ''), texts, buffer, threads, backend, precompile);
    buffer.delete();
    kind = 'bert';
  }
  await settle();  // precompiled pipelines are ready before the first step
  return {
    info: () => {
      const info = { ...JSON.parse(model.info()), variant: (threads > 1 ? 'wasm-simd-threads' : 'wasm-simd') + (relaxed ? '-relaxed' : '') };
      if (note) info.gpu_note = note;
      return info;
    },
    bridge,
    async refreshInfo() { return this.info(); },
    async _loseGpu() { model.loseGpu(); },  // tests: the device destroyed, as a driver reset would
    async generate(prompt, opts = {}) {
      if (kind !== 'llama') throw new Error('generate: this model is an encoder (use embed)');
      const { onToken, signal, ...rest } = opts;
      const t0 = performance.now();
      const promptTokens = Array.from(model.start(prompt, rest));
      await settle();
      const tPrompt = performance.now();
      const tokens = [];
      let text = '', stopped = 'length', tFirst = null;
      for (;;) {
        if (signal) await yieldToEventLoop();
        if (signal?.aborted) { stopped = 'abort'; break; }
        const step = model.next();
        await settle();
        tFirst ??= performance.now();
        if (step.token >= 0) tokens.push(step.token);
        if (step.text) { text += step.text; onToken?.(step.text, step.token); }
        if (step.done) { if (tokens.length < (rest.maxTokens ?? 128)) stopped = 'eos'; break; }
      }
      const tEnd = performance.now();
      const decodeEvals = Math.max(0, tokens.length - 1);
      return {
        text, tokens, promptTokens, stopped,
        timings: {
          promptMs: tPrompt - t0,
          timeToFirstTokenMs: (tFirst ?? tEnd) - t0,
          decodeMs: tEnd - (tFirst ?? tEnd),
          promptTokensPerSecond: promptTokens.length / ((tPrompt - t0) / 1000),
          decodeTokensPerSecond: decodeEvals ? decodeEvals / ((tEnd - tFirst) / 1000) : 0,
        },
        lastLogits: rest.returnLogits ? model.lastLogits() : undefined,
      };
    },
    async embed(texts) {
      if (kind !== 'bert') throw new Error('embed: this model is a decoder (use generate)');
      const t0 = performance.now();
      let tokens = 0;
      const embeddings = [];
      if (!model.onGpu()) {  // on wasm: all texts in one call, their sentences stacked into shared forwards
        const r = model.embedBatch(texts);
        const dim = r.embeddings.length / texts.length;
        for (let i = 0; i < texts.length; ++i) embeddings.push(r.embeddings.slice(i * dim, (i + 1) * dim));
        tokens = r.tokens;
      } else {
        for (const t of texts) {
          tokens += model.countTokens(t);
          model.embedStart(t);
          await settle();
          embeddings.push(model.embedFinish());
        }
      }
      const ms = performance.now() - t0;
      return { embeddings, dim: embeddings[0].length, tokens, ms, sentencesPerSecond: texts.length / (ms / 1000) };
    },
    dispose() {
      model.delete();
      // The pthread workers keep Node alive otherwise.
      module.PThread?.terminateAllThreads?.();
    },
  };
}
