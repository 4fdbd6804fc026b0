// The Web Worker that owns one wasm instance (classic worker: Emscripten 3.1.6's pthread workers
// load the runtime with importScripts). Messages: {id, op, ...} in; {id, type, ...} out.
/* global createWebaccel, importScripts */
'use strict';

let module = null;   // the Emscripten module
let model = null;    // an embind Llama or Bert
let kind = null;     // 'llama' | 'bert'
let abortRequested = null;  // id of the generation to stop
let bridge = null;          // the WebGPU bridge (gpu_bridge.js) when a GPU device was opened
let gpuFallback = null;     // why WebGPU is not in use, when it was asked for

const post = (msg, transfer) => self.postMessage(msg, transfer || []);

// Lets queued messages (an abort) run between tokens; MessageChannel avoids setTimeout's 4 ms clamp.
const yieldChannel = new MessageChannel();
const yieldQueue = [];
yieldChannel.port1.onmessage = () => yieldQueue.shift()();
const yieldToEventLoop = () => new Promise((resolve) => { yieldQueue.push(resolve); yieldChannel.port2.postMessage(0); });

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(bytes) {
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

function fail(message, errorKind) {
  const e = new Error(message);
  e.kind = errorKind;
  throw e;
}

// Downloads url into one ArrayBuffer, reporting bytes as they arrive.
async function download(url, onBytes) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-store' });
  } catch (e) {
    fail(`${url}: network error: ${e.message}`, 'io');
  }
  if (!response.ok) fail(`${url}: HTTP ${response.status} ${response.statusText}`, 'io');
  const declared = Number(response.headers.get('Content-Length'));
  const chunks = [];
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(received, declared || 0);
  }
  if (declared && received !== declared) {
    fail(`${url}: truncated download (${received} of ${declared} bytes)`, 'io');
  }
  const out = new Uint8Array(received);
  let offset = 0;
  for (const c of chunks) { out.set(c, offset); offset += c.length; }
  return out;
}

async function openCache(cacheName) {
  return cacheName && self.caches ? caches.open(cacheName) : null;
}

// A cached entry's bytes if its length and SHA-256 still match what was stored with it (and the
// expected checksum, if given); otherwise the entry is dropped and null returned.
async function readCached(cache, url, expectedSha) {
  const hit = await cache.match(url);
  if (!hit) return null;
  const bytes = new Uint8Array(await hit.arrayBuffer());
  const actual = await sha256(bytes);
  if (actual === hit.headers.get('x-webaccel-sha256') && (!expectedSha || actual === expectedSha)) return { bytes, sha256: actual };
  await cache.delete(url);
  post({ type: 'log', message: `${url}: cached copy failed its checksum; fetching again` });
  return null;
}

async function store(cache, url, bytes, sha) {
  await cache.put(url, new Response(bytes, { headers: { 'x-webaccel-sha256': sha ?? await sha256(bytes), 'Content-Length': String(bytes.length) } }));
}

// One file through the Cache API; a cached copy that fails its checksum is fetched again.
async function fetchFile(url, expectedSha, cacheName, progress) {
  const cache = await openCache(cacheName);
  const hit = cache && await readCached(cache, url, expectedSha);
  if (hit) {
    progress(hit.bytes.length, hit.bytes.length, 'cache');
    return { bytes: hit.bytes, source: 'cache', sha256: hit.sha256 };
  }
  let bytes = await download(url, (n, total) => progress(n, total, 'network'));
  let actual = await sha256(bytes);
  if (expectedSha && actual !== expectedSha) {
    bytes = await download(url, (n, total) => progress(n, total, 'network'));  // a proxy may have served a stale copy once
    actual = await sha256(bytes);
    if (actual !== expectedSha) fail(`${url}: SHA-256 ${actual} does not match the expected ${expectedSha}`, 'io');
  }
  if (cache) await store(cache, url, bytes, actual);
  return { bytes, source: 'network', sha256: actual };
}

// Where a package's shards come from here: the Cache API, else the network (package_loader.js).
async function packageSource(cacheName) {
  const cache = await openCache(cacheName);
  return {
    async get(url, { fresh, onBytes }) {
      const hit = !fresh && cache && await readCached(cache, url);
      if (hit) {
        onBytes(hit.bytes.length, hit.bytes.length, 'cache');
        return { bytes: hit.bytes, from: 'cache' };
      }
      return { bytes: await download(url, (n, total) => onBytes(n, total, 'network')), from: 'network' };
    },
    keep: (url, bytes) => cache && store(cache, url, bytes),
    evict: (url) => cache?.delete(url),
  };
}

// The manifest of the package at url (a manifest.json URL, or a folder holding one), or null for
// a folder without one (a sentence-transformers folder).
async function findManifest(url, expected, cacheName, progress) {
  const manifestUrl = /manifest\.json(\?|$)/.test(url) ? url : (url.endsWith('/') ? url : url + '/') + 'manifest.json';
  try {
    return { url: manifestUrl, ...await fetchFile(manifestUrl, expected['manifest.json'], cacheName, progress(manifestUrl)) };
  } catch (e) {
    if (manifestUrl !== url && /HTTP 404/.test(e.message)) return null;
    throw e;
  }
}

const BERT_TEXT_FILES = ['config.json', 'vocab.txt', 'sentence_bert_config.json', '1_Pooling/config.json',
  'modules.json', 'tokenizer_config.json'];
const BERT_REQUIRED = new Set(['config.json', 'vocab.txt']);

// Lets the GPU work of the last wasm call finish (pipelines, read backs) before the next one.
const settle = () => bridge?.settle();

// The model's facts; gpu_note also says why WebGPU is unavailable when it was asked for.
function modelInfo() {
  const info = JSON.parse(model.info());
  if (gpuFallback) info.gpu_note = `WebGPU unavailable, running on wasm: ${gpuFallback}`;
  return info;
}

// The WebGPU bridge, or null with gpuFallback saying why (absent, no adapter, device refused).
// hide: tests of the fallback see no navigator.gpu.
async function openGpu(backend, hide = false) {
  if (backend === 'wasm') return null;
  const { openGpuBridge } = await import(new URL('./gpu_bridge.js', self.location.href).href);
  try {
    return await openGpuBridge(hide ? undefined : self.navigator?.gpu);
  } catch (e) {
    gpuFallback = e.message;
    return null;
  }
}

async function instantiate(variantUrl, threads) {
  importScripts(variantUrl);
  return createWebaccel({
    webaccelWorkers: Math.max(0, threads - 1),
    mainScriptUrlOrBlob: variantUrl,
    locateFile: (file) => new URL(file, variantUrl).href,
    webaccelGpu: bridge,
  });
}

// A llama GGUF: one file.
async function loadGguf(url, ctx) {
  const f = await ctx.fetch(url, ctx.expected.file);
  const buffer = ctx.loader.toFileBuffer(module, url, f.bytes);
  try {
    model = new module.Llama(buffer, ctx.threads, ctx.nCtx, ctx.backend, ctx.precompile);
  } finally {
    buffer.delete();
  }
  kind = 'llama';
  return { format: 'gguf' };
}

// A webaccel package: manifest.json, then its shards in parallel (package_loader.js).
async function loadPackageModel(manifest, ctx) {
  const loaded = await ctx.loader.loadPackage({
    module, manifestUrl: manifest.url, manifestBytes: manifest.bytes,
    source: await packageSource(ctx.cacheName), parallel: ctx.parallel,
    onProgress: (p) => post({ id: ctx.id, type: 'progress', ...p }),
    log: (message) => post({ type: 'log', message }),
  });
  ctx.downloaded += loaded.downloadedBytes;
  ctx.sources.push(loaded.fromCache ? 'cache' : 'network');
  kind = loaded.architecture;
  try {
    model = kind === 'bert' ? new module.Bert(loaded.pkg, ctx.threads, ctx.backend, ctx.precompile)
      : new module.Llama(loaded.pkg, ctx.threads, ctx.nCtx, ctx.backend, ctx.precompile);
  } finally {
    loaded.pkg.delete();
  }
  return { format: 'package', package: { shards: loaded.shards, refetched: loaded.refetched } };
}

// A sentence-transformers folder: every file in parallel; an optional file that is absent (404) is skipped.
async function loadBertFolder(url, ctx) {
  const base = url.endsWith('/') ? url : url + '/';
  const texts = {};
  const weightsUrl = base + 'model.safetensors';
  const [weights] = await Promise.all([
    ctx.fetch(weightsUrl, ctx.expected['model.safetensors']),
    ...BERT_TEXT_FILES.map(async (name) => {
      try {
        texts[name] = new TextDecoder().decode((await ctx.fetch(base + name, ctx.expected[name])).bytes);
      } catch (e) {
        if (BERT_REQUIRED.has(name) || !/HTTP 404/.test(e.message)) throw e;
      }
    }),
  ]);
  const buffer = ctx.loader.toFileBuffer(module, weightsUrl, weights.bytes);
  try {
    model = new module.Bert(base.replace(/\/$/, ''), texts, buffer, ctx.threads, ctx.backend, ctx.precompile);
  } finally {
    buffer.delete();
  }
  kind = 'bert';
  return { format: 'safetensors' };
}

async function load(msg) {
  const t0 = performance.now();
  const { url, variantUrl, threads, sha256: expected = {}, cacheName, nCtx, backend = 'auto', precompile = true } = msg;
  bridge = await openGpu(backend, msg.hideWebGpu);
  module = await instantiate(variantUrl, threads);
  const loader = await import(new URL('./package_loader.js', self.location.href).href);
  const totals = new Map();
  const progress = (file) => (loaded, total, source) => {
    totals.set(file, { loaded, total, source });
    let sumLoaded = 0, sumTotal = 0;
    for (const v of totals.values()) { sumLoaded += v.loaded; sumTotal += v.total; }
    post({ id: msg.id, type: 'progress', file, loaded, total, source, allLoaded: sumLoaded, allTotal: sumTotal });
  };
  const ctx = {
    id: msg.id, threads, nCtx, backend, precompile, expected, cacheName, loader, parallel: msg.parallel,
    sources: [], downloaded: 0,
    // One file through the Cache API, counted in info.fromCache and info.downloadedBytes.
    async fetch(fileUrl, sha) {
      const f = await fetchFile(fileUrl, sha, cacheName, progress(fileUrl));
      ctx.sources.push(f.source);
      if (f.source === 'network') ctx.downloaded += f.bytes.length;
      return f;
    },
  };
  let facts;
  if (/\.gguf(\?|$)/i.test(url)) {
    facts = await loadGguf(url, ctx);
  } else {
    const manifest = await findManifest(url, expected, cacheName, progress);
    if (manifest) {
      ctx.sources.push(manifest.source);
      if (manifest.source === 'network') ctx.downloaded += manifest.bytes.length;
    }
    facts = manifest ? await loadPackageModel(manifest, ctx) : await loadBertFolder(url, ctx);
  }
  await settle();  // precompiled pipelines are ready before the first step
  const info = modelInfo();
  if (info.backend !== 'webgpu' && bridge) {  // 'auto' chose wasm, or the model was refused: free the device
    bridge.device.destroy();
    bridge = null;
  }
  Object.assign(info, facts);
  info.variant = (variantUrl.includes('-mt') ? 'wasm-simd-threads' : 'wasm-simd') + (variantUrl.includes('-relaxed') ? '-relaxed' : '');
  info.loadMs = performance.now() - t0;
  info.fromCache = ctx.sources.every((s) => s === 'cache');
  info.downloadedBytes = ctx.downloaded;
  return info;
}

async function generate(msg) {
  if (kind !== 'llama') fail('generate: this model is an encoder (use embed)', 'input');
  const t0 = performance.now();
  const promptTokens = Array.from(model.start(msg.prompt, msg.options || {}));
  await settle();
  const tPrompt = performance.now();
  const tokens = [];
  let text = '';
  let stopped = 'length';
  let tFirst = null;
  for (;;) {
    await yieldToEventLoop();
    if (abortRequested === msg.id) { stopped = 'abort'; break; }
    const step = model.next();
    await settle();
    if (tFirst === null) tFirst = performance.now();
    if (step.token >= 0) tokens.push(step.token);
    if (step.text) {
      text += step.text;
      post({ id: msg.id, type: 'token', token: step.token, text: step.text });
    }
    if (step.done) {
      if (tokens.length < (msg.options?.maxTokens ?? 128)) stopped = 'eos';
      break;
    }
  }
  abortRequested = null;
  const tEnd = performance.now();
  const decodeEvals = Math.max(0, tokens.length - 1);  // the first token comes from the prompt's logits
  return {
    text, tokens, promptTokens, stopped,
    timings: {
      promptMs: tPrompt - t0,
      timeToFirstTokenMs: (tFirst ?? tEnd) - t0,
      decodeMs: tEnd - (tFirst ?? tEnd),
      promptTokensPerSecond: promptTokens.length / ((tPrompt - t0) / 1000),
      decodeTokensPerSecond: decodeEvals ? decodeEvals / ((tEnd - tFirst) / 1000) : 0,
    },
    lastLogits: msg.options?.returnLogits ? model.lastLogits() : undefined,
  };
}

async function embed(msg) {
  if (kind !== 'bert') fail('embed: this model is a decoder (use generate)', 'input');
  if (!Array.isArray(msg.texts) || msg.texts.length === 0) fail('embed: texts must be a non-empty array of strings', 'input');
  for (const [i, t] of msg.texts.entries()) {
    if (typeof t !== 'string' || t.length === 0) fail(`embed: text #${i} is empty or not a string`, 'input');
  }
  const t0 = performance.now();
  let tokens = 0;
  const embeddings = [];
  if (!model.onGpu()) {
    // On wasm all texts go through one call: their sentences stacked into shared forwards.
    const r = model.embedBatch(msg.texts);
    const dim = r.embeddings.length / msg.texts.length;
    for (let i = 0; i < msg.texts.length; ++i) embeddings.push(r.embeddings.slice(i * dim, (i + 1) * dim));
    tokens = r.tokens;
  } else {
    for (const t of msg.texts) {
      tokens += model.countTokens(t);
      model.embedStart(t);
      await settle();
      embeddings.push(model.embedFinish());
    }
  }
  const ms = performance.now() - t0;
  return { embeddings, dim: embeddings[0].length, tokens, ms, sentencesPerSecond: msg.texts.length / (ms / 1000) };
}

// The GPU self-tests (device, kernels) on this worker's WebGPU device: each records its cases,
// waits for the read backs, then compares with the CPU reference in the same wasm module.
async function gpuSelftest(msg) {
  bridge = await openGpu('webgpu');
  if (!bridge) fail(`WebGPU is unavailable: ${gpuFallback}`, 'unsupported');
  module = await instantiate(msg.variantUrl, 1);
  const { runGpuSelftests } = await import(new URL('./gpu_bridge.js', self.location.href).href);
  return runGpuSelftests(module, bridge, msg.which, msg.seed);
}

// Tests: lose the WebGPU device now, as a driver reset would.
function loseGpu() {
  model.loseGpu();
  return true;
}

const ops = { load, generate, embed, gpuSelftest, loseGpu, info: modelInfo };

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.op === 'abort') { abortRequested = msg.target; return; }
  try {
    if (!ops[msg.op]) fail(`unknown operation '${msg.op}'`, 'internal');
    if (msg.op !== 'load' && msg.op !== 'gpuSelftest' && !model) fail('no model is loaded', 'input');
    const result = await ops[msg.op](msg);
    post({ id: msg.id, type: 'result', result });
  } catch (e) {
    post({ id: msg.id, type: 'error', message: e.message || String(e), kind: e.kind || 'internal' });
  }
};
