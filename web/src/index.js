// webaccel in the browser: transformer models in WebAssembly (SIMD128, threads when the page is
// cross-origin isolated), run in a Web Worker so the page never blocks.
//
//   import * as webaccel from './src/index.js';
//   const m = await webaccel.load('/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', {
//     onProgress: (p) => console.log(p.allLoaded, p.allTotal),
//   });
//   const r = await m.generate('Why is the sky blue?', { maxTokens: 64, onToken: (t) => out.append(t) });
//   const e = await (await webaccel.load('/models/minilm/')).embed(['The cat sits.', 'A kitten rests.']);
//   m.dispose();
//
// A URL ending in .gguf is a llama-architecture GGUF; one ending in manifest.json, or a folder
// holding one, is a webaccel package (`webaccel quantize`: shards fetched in parallel, each checked
// against the manifest's XXH3-64); any other URL is a sentence-transformers folder (config.json,
// vocab.txt, model.safetensors, ...). Files are kept in the Cache API.

import { relaxedSimdWorks, variantFile } from './relaxed_simd.js';

const DEFAULT_DIST = new URL('../dist/', import.meta.url);

// The smallest module that uses a v128 instruction: validates only where SIMD128 exists.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

/** What this browser offers the wasm backend. */
export function capabilities() {
  const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  return {
    simd: typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE),
    relaxedSimd: relaxedSimdWorks(),
    threads: isolated,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: globalThis.navigator?.hardwareConcurrency || 1,
  };
}

export class WebaccelError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = 'WebaccelError';
    this.kind = kind;  // 'io' | 'format' | 'input' | 'internal' | 'unsupported'
  }
}

function abortError(signal) {
  return signal.reason instanceof Error ? signal.reason : new DOMException('generation aborted', 'AbortError');
}

class Model {
  #worker; #pending = new Map(); #nextId = 1; #info;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (event) => this.#receive(event.data);
    worker.onerror = (event) => this.#failAll(new WebaccelError(`worker crashed: ${event.message}`, 'internal'));
  }

  #receive(msg) {
    const call = this.#pending.get(msg.id);
    if (!call) return;
    if (msg.type === 'token') call.onToken?.(msg.text, msg.token);
    else if (msg.type === 'progress') call.onProgress?.(msg);
    else if (msg.type === 'result' || msg.type === 'error') {
      this.#pending.delete(msg.id);
      if (msg.type === 'result') call.resolve(msg.result);
      else call.reject(new WebaccelError(msg.message, msg.kind));
    }
  }

  #failAll(error) {
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }

  static async open(worker, payload, onProgress) {
    const model = new Model(worker);
    model.#info = await model._call('load', payload, { onProgress });
    return model;
  }

  _call(op, payload, hooks = {}) {
    if (!this.#worker) return Promise.reject(new WebaccelError('the model was disposed', 'input'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, ...hooks });
      this.#worker.postMessage({ id, op, ...payload });
    });
  }

  /** Generates text; streams pieces to onToken; abortable with signal (rejects with an AbortError). */
  async generate(prompt, options = {}) {
    const { onToken, signal, ...rest } = options;
    if (typeof prompt !== 'string') throw new WebaccelError('generate: prompt must be a string', 'input');
    if (signal?.aborted) throw abortError(signal);
    const id = this.#nextId;
    const onAbort = () => this.#worker?.postMessage({ op: 'abort', target: id });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await this._call('generate', { prompt, options: rest }, { onToken });
      if (result.stopped === 'abort' && signal?.aborted) {
        const error = abortError(signal);
        error.partial = result;
        throw error;
      }
      return result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Embeds each text: {embeddings: Float32Array[], dim, tokens, ms, sentencesPerSecond}. */
  embed(texts) {
    return this._call('embed', { texts: Array.isArray(texts) ? texts : [texts] });
  }

  /** Model facts (architecture, sizes, backend and GPU adapter, threads, SIMD target, variant, load time, cache use). */
  info() { return { ...this.#info }; }

  /** The current facts from the worker (the backend changes after a lost WebGPU device). */
  refreshInfo() { return this._call('info', {}).then((info) => Object.assign(this.#info, info) && this.info()); }

  /** Tests: destroys the worker's WebGPU device, as a driver reset would. */
  _loseGpu() { return this._call('loseGpu', {}); }

  /** Ends the worker and frees the wasm memory. */
  dispose() {
    this.#worker?.terminate();
    this.#worker = null;
    this.#failAll(new WebaccelError('the model was disposed', 'input'));
  }
}

/**
 * Loads a model (GGUF, webaccel package or sentence-transformers folder) into a new Worker.
 * options: onProgress({file, loaded, total, source, allLoaded, allTotal, components (packages:
 * {name: {loaded, total}} per manifest component)}), backend ('auto' | 'wasm' |
 * 'webgpu': WebGPU absent, refused or lost falls back to wasm with the same output; 'auto' takes WebGPU on a
 * hardware adapter only), precompile (default true: every GPU pipeline is created at load),
 * threads (default: min(4, cores) when cross-origin isolated, else 1), sha256 (a hex string for a
 * GGUF, or {fileName: hex} for a folder; {'manifest.json': hex} pins a whole package), cache (Cache
 * API name, or false), nCtx (default 2048), parallel (package shards fetched at once, default 4),
 * distUrl (where webaccel-st.js / webaccel-mt.js live), relaxedSimd (default true: the relaxed-SIMD
 * build where this browser runs it correctly; false: plain SIMD128).
 */
export async function load(url, options = {}) {
  const { onProgress, backend = 'auto', cache = 'webaccel-v1', nCtx = 2048, precompile = true } = options;
  if (!['auto', 'wasm', 'webgpu'].includes(backend)) {
    throw new WebaccelError(`backend '${backend}' is not one of 'auto', 'wasm', 'webgpu'`, 'input');
  }
  const caps = capabilities();
  if (!caps.simd) throw new WebaccelError('this browser lacks WebAssembly SIMD128, which webaccel needs', 'unsupported');
  let threads = options.threads ?? (caps.threads ? Math.min(4, caps.hardwareConcurrency) : 1);
  if (!Number.isInteger(threads) || threads < 1) throw new WebaccelError(`threads must be a positive integer, not ${threads}`, 'input');
  // Without cross-origin isolation there is no SharedArrayBuffer: one thread, whatever was asked.
  if (!caps.threads) threads = 1;
  const dist = new URL(options.distUrl ?? DEFAULT_DIST, globalThis.location?.href);
  // The relaxed-SIMD build (int8 dot products, FMA) where the probe passes; relaxedSimd: false forces SIMD128.
  const variantUrl = new URL(variantFile(threads, caps.relaxedSimd && options.relaxedSimd !== false), dist).href;
  const absolute = new URL(url, globalThis.location?.href).href;
  const sha256 = typeof options.sha256 === 'string' ? { file: options.sha256 } : (options.sha256 ?? {});
  const parallel = options.parallel ?? 4;
  if (!Number.isInteger(parallel) || parallel < 1) throw new WebaccelError(`parallel must be a positive integer, not ${parallel}`, 'input');

  const worker = new Worker(new URL('./worker.js', import.meta.url));
  try {
    return await Model.open(worker, { url: absolute, variantUrl, threads, sha256, cacheName: cache || null, nCtx,
      backend, precompile, parallel, hideWebGpu: options._hideWebGpu === true }, onProgress);
  } catch (e) {
    worker.terminate();
    throw e;
  }
}

/**
 * Runs the GPU self-tests in a new Worker on this browser's WebGPU: 'device' (the bridge itself) and
 * 'kernels' (every kernel against the CPU reference on random inputs of odd sizes).
 * Resolves to {gpu, errors, stats, results: {device?, kernels?}}.
 */
export async function gpuSelftest({ which = ['device', 'kernels'], seed = 1, distUrl } = {}) {
  const dist = new URL(distUrl ?? DEFAULT_DIST, globalThis.location?.href);
  const worker = new Worker(new URL('./worker.js', import.meta.url));
  try {
    const model = new Model(worker);
    return await model._call('gpuSelftest', { which, seed, variantUrl: new URL('webaccel-st.js', dist).href });
  } finally {
    worker.terminate();
  }
}
