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

// One file through the Cache API: a cached entry is used only if its length and SHA-256 still
// match what was stored with it (and the expected checksum, if given); otherwise it is fetched again.
async function fetchFile(url, expectedSha, cacheName, progress) {
  const cache = cacheName && self.caches ? await caches.open(cacheName) : null;
  if (cache) {
    const hit = await cache.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      const stored = hit.headers.get('x-webaccel-sha256');
      const actual = await sha256(bytes);
      if (actual === stored && (!expectedSha || actual === expectedSha)) {
        progress(bytes.length, bytes.length, 'cache');
        return { bytes, source: 'cache', sha256: actual };
      }
      await cache.delete(url);
      post({ type: 'log', message: `${url}: cached copy failed its checksum; fetching again` });
    }
  }
  let bytes = await download(url, (n, total) => progress(n, total, 'network'));
  let actual = await sha256(bytes);
  if (expectedSha && actual !== expectedSha) {
    bytes = await download(url, (n, total) => progress(n, total, 'network'));  // a proxy may have served a stale copy once
    actual = await sha256(bytes);
    if (actual !== expectedSha) fail(`${url}: SHA-256 ${actual} does not match the expected ${expectedSha}`, 'io');
  }
  if (cache) {
    await cache.put(url, new Response(bytes, { headers: { 'x-webaccel-sha256': actual, 'Content-Length': String(bytes.length) } }));
  }
  return { bytes, source: 'network', sha256: actual };
}

// Copies bytes into a wasm-side buffer in 8 MiB pieces (one embind call each).
function toFileBuffer(name, bytes) {
  const buffer = new module.FileBuffer(name, bytes.length);
  const step = 8 << 20;
  for (let offset = 0; offset < bytes.length; offset += step) {
    buffer.write(offset, bytes.subarray(offset, Math.min(bytes.length, offset + step)));
  }
  return buffer;
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

async function load(msg) {
  const t0 = performance.now();
  const { url, variantUrl, threads, sha256: expected = {}, cacheName, nCtx, backend = 'auto', precompile = true } = msg;
  bridge = await openGpu(backend, msg.hideWebGpu);
  module = await instantiate(variantUrl, threads);
  const isGguf = /\.gguf(\?|$)/i.test(url);
  const totals = new Map();
  const report = (file) => (loaded, total, source) => {
    totals.set(file, { loaded, total, source });
    let sumLoaded = 0, sumTotal = 0;
    for (const v of totals.values()) { sumLoaded += v.loaded; sumTotal += v.total; }
    post({ id: msg.id, type: 'progress', file, loaded, total, source, allLoaded: sumLoaded, allTotal: sumTotal });
  };
  const sources = {};
  let buffer;
  if (isGguf) {
    const f = await fetchFile(url, expected.file, cacheName, report(url));
    sources.model = f.source;
    buffer = toFileBuffer(url, f.bytes);
    kind = 'llama';
    model = new module.Llama(buffer, threads, nCtx, backend, precompile);
  } else {
    const base = url.endsWith('/') ? url : url + '/';
    const texts = {};
    const weightsUrl = base + 'model.safetensors';
    // Every file of the folder in parallel; an optional file that is absent (404) is skipped.
    const [weights] = await Promise.all([
      fetchFile(weightsUrl, expected['model.safetensors'], cacheName, report(weightsUrl)),
      ...BERT_TEXT_FILES.map(async (name) => {
        try {
          const f = await fetchFile(base + name, expected[name], cacheName, report(base + name));
          texts[name] = new TextDecoder().decode(f.bytes);
        } catch (e) {
          if (BERT_REQUIRED.has(name) || !/HTTP 404/.test(e.message)) throw e;
        }
      }),
    ]);
    sources.weights = weights.source;
    buffer = toFileBuffer(weightsUrl, weights.bytes);
    kind = 'bert';
    model = new module.Bert(base.replace(/\/$/, ''), texts, buffer, threads, backend, precompile);
  }
  buffer.delete();
  await settle();  // precompiled pipelines are ready before the first step
  const info = modelInfo();
  if (info.backend !== 'webgpu' && bridge) {  // 'auto' chose wasm, or the model was refused: free the device
    bridge.device.destroy();
    bridge = null;
  }
  info.variant = (variantUrl.includes('-mt') ? 'wasm-simd-threads' : 'wasm-simd') + (variantUrl.includes('-relaxed') ? '-relaxed' : '');
  info.loadMs = performance.now() - t0;
  info.fromCache = Object.values(sources).every((s) => s === 'cache');
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
  const t0 = performance.now();
  let tokens = 0;
  const embeddings = [];
  for (const [i, t] of msg.texts.entries()) {
    if (typeof t !== 'string' || t.length === 0) fail(`embed: text #${i} is empty or not a string`, 'input');
    tokens += model.countTokens(t);
    model.embedStart(t);
    await settle();
    embeddings.push(model.embedFinish());
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
