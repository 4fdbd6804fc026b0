// One browser test scenario per page load, chosen by ?scenario=NAME (&threads=N&post=FILE).
// The result lands in window.__result (Chromium, read by playwright) and, with post=, is POSTed to
// the server's /__results/FILE (Firefox, which no test framework here can drive). &dist=URL loads the
// wasm build from there instead of web/dist.
import * as webaccelModule from '../../web/src/index.js';
import { checkSmollm2, checkMinilm } from './goldens.mjs';
import { gpuGoldens, gpuAbsent, gpuLost } from './gpu_cases.mjs';
import { packageCache, corruptPackage } from './package_cases.mjs';

const params = new URLSearchParams(location.search);
const scenario = params.get('scenario');
const threads = Number(params.get('threads') || 1);
const distUrl = params.get('dist') ?? undefined;
const webaccel = { ...webaccelModule, load: (url, options) => webaccelModule.load(url, { distUrl, ...options }) };
const GGUF = '/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf';
const GGUF_SHA = 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53';
const log = (s) => { document.getElementById('log').textContent += s + '\n'; };
const json = async (url) => (await fetch(url)).json();
const f32 = async (url) => new Float32Array(await (await fetch(url)).arrayBuffer());

// What the shared GPU scenarios (gpu_cases.mjs) need from this host.
async function gpuHost() {
  const golden = await json('/tests/golden/smollm2_greedy.json');
  return {
    load: (url, options) => webaccel.load(url, { threads, sha256: url === GGUF ? GGUF_SHA : undefined, ...options }),
    llm: GGUF,
    minilm: '/models/minilm/',
    golden,
    native: (await json('/build/wasm/reference/native_reference.json')).cases.map((c) => ({ ...c, logits: new Float32Array(c.logits) })),
    llamaLogits: await Promise.all(golden.cases.map((c) => f32(`/tests/golden/${c.last_logits_file}`))),
    minilmGolden: await json('/tests/golden/minilm_embeddings.json'),
  };
}

// Spoils two cached shards of the package: one truncated under its old SHA-256 header, one with a
// byte flipped under a recomputed header (only the manifest's XXH3-64 can tell).
async function spoilCachedShards(fixture) {
  const cache = await caches.open('webaccel-v1');
  const base = new URL(fixture.url, location.href).href;
  const [a, b] = fixture.shards.map((s) => base + s.file);
  const entryA = await cache.match(a);
  await cache.put(a, new Response((await entryA.arrayBuffer()).slice(0, 1000), { headers: entryA.headers }));
  const bytesB = new Uint8Array(await (await cache.match(b)).arrayBuffer());
  bytesB[100] ^= 1;
  const sha = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytesB)), (x) => x.toString(16).padStart(2, '0')).join('');
  await cache.put(b, new Response(bytesB, { headers: { 'x-webaccel-sha256': sha, 'Content-Length': String(bytesB.length) } }));
  return { bytes: fixture.shards[0].size + fixture.shards[1].size, xxh3Caught: b };
}

// Expects `promise` to reject; returns {kind, message} (or a failure note if it resolved).
async function rejection(promise) {
  try {
    const m = await promise;
    m?.dispose?.();
    return { kind: null, message: 'did not fail' };
  } catch (e) {
    return { kind: e.kind ?? e.name, message: e.message };
  }
}

const scenarios = {
  async goldens() {
    const golden = await json('/tests/golden/smollm2_greedy.json');
    const native = (await json('/build/wasm/reference/native_reference.json')).cases
      .map((c) => ({ ...c, logits: new Float32Array(c.logits) }));
    const llamaLogits = await Promise.all(golden.cases.map((c) => f32(`/tests/golden/${c.last_logits_file}`)));
    const m = await webaccel.load(GGUF, { threads, nCtx: 512, sha256: GGUF_SHA });
    const info = m.info();
    const s = await checkSmollm2((p, o) => m.generate(p, o), golden, native, llamaLogits);
    m.dispose();
    const enc = await webaccel.load('/models/minilm/', { threads });
    const e = await checkMinilm((t) => enc.embed(t), await json('/tests/golden/minilm_embeddings.json'));
    enc.dispose();
    return { ok: s.failures === 0 && e.ok, info, smollm2: s, minilm: e };
  },

  async cache() {
    await caches.delete('webaccel-v1');
    const cold = await webaccel.load(GGUF, { threads, sha256: GGUF_SHA });
    const coldInfo = cold.info();
    const coldRun = await cold.generate('Hello', { maxTokens: 4, temperature: 0 });
    cold.dispose();
    const warm = await webaccel.load(GGUF, { threads, sha256: GGUF_SHA });
    const warmInfo = warm.info();
    const warmRun = await warm.generate('Hello', { maxTokens: 4, temperature: 0 });
    warm.dispose();
    // A corrupted entry (right headers, wrong bytes) must be noticed and replaced.
    const cache = await caches.open('webaccel-v1');
    const url = new URL(GGUF, location.href).href;
    const stored = await cache.match(url);
    await cache.put(url, new Response(new Uint8Array(1000), { headers: stored.headers }));
    const healed = await webaccel.load(GGUF, { threads, sha256: GGUF_SHA });
    const healedInfo = healed.info();
    healed.dispose();
    return {
      ok: !coldInfo.fromCache && warmInfo.fromCache && !healedInfo.fromCache &&
        JSON.stringify(coldRun.tokens) === JSON.stringify(warmRun.tokens),
      coldLoadMs: coldInfo.loadMs, warmLoadMs: warmInfo.loadMs, healedFromCache: healedInfo.fromCache,
      coldTtftMs: coldInfo.loadMs + coldRun.timings.timeToFirstTokenMs,
      warmTtftMs: warmInfo.loadMs + warmRun.timings.timeToFirstTokenMs,
    };
  },

  async abort() {
    const m = await webaccel.load(GGUF, { threads, sha256: GGUF_SHA });
    const controller = new AbortController();
    let pieces = 0;
    const outcome = await rejection(m.generate('Tell me a long story about a dragon.', {
      maxTokens: 400, temperature: 0, ignoreEos: true, signal: controller.signal,
      onToken: () => { if (++pieces === 5) controller.abort(); },
    }));
    // The model must stay usable after an abort.
    const after = await m.generate('Hello', { maxTokens: 3, temperature: 0 });
    m.dispose();
    return { ok: outcome.kind === 'AbortError' && pieces < 20 && after.tokens.length === 3, outcome, piecesBeforeStop: pieces };
  },

  async badInput() {
    const missing = await rejection(webaccel.load('/models/does-not-exist.gguf', { threads }));
    const truncated = await rejection(webaccel.load('/build/wasm/testdata/truncated.gguf', { threads, cache: false }));
    const checksum = await rejection(webaccel.load(GGUF, { threads, sha256: '0'.repeat(64), cache: false }));
    const m = await webaccel.load(GGUF, { threads, sha256: GGUF_SHA });
    const emptyPrompt = await rejection(m.generate('', { maxTokens: 4 }));
    const wrongOp = await rejection(m.embed(['a sentence']));
    m.dispose();
    const badThreads = await rejection(webaccel.load(GGUF, { threads: 0 }));
    // No browser here lacks SIMD128: the probe is made to fail so the error path runs for real.
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    const noSimd = await rejection(webaccel.load(GGUF, { threads }));
    WebAssembly.validate = validate;
    const checks = {
      missing: missing.kind === 'io' && /does-not-exist\.gguf: HTTP 404/.test(missing.message),
      truncated: truncated.kind === 'format' && /truncated\.gguf/.test(truncated.message),
      checksum: checksum.kind === 'io' && /does not match the expected/.test(checksum.message),
      emptyPrompt: emptyPrompt.kind === 'input',
      wrongOp: wrongOp.kind === 'input',
      badThreads: badThreads.kind === 'input',
      noSimd: noSimd.kind === 'unsupported' && /SIMD128/.test(noSimd.message),
    };
    return { ok: Object.values(checks).every(Boolean), checks, missing, truncated, checksum, emptyPrompt, wrongOp, badThreads, noSimd };
  },

  // The GPU self-tests in the worker: the bridge itself, then every kernel against the CPU reference.
  async gpuDevice() {
    const r = await webaccel.gpuSelftest({ which: ['device'] });
    return { ok: r.results.device.ok && r.errors.length === 0, gpuSelftest: r };
  },

  async gpuKernels() {
    const r = await webaccel.gpuSelftest({ which: ['kernels'], seed: Number(params.get('seed') || 1) });
    return { ok: r.results.kernels.ok && r.errors.length === 0, gpuSelftest: r };
  },

  // A webaccel package (package_fixture.mjs): native tokens, progress, Cache API reload and repair.
  async package() {
    await caches.delete('webaccel-v1');
    const fixture = await json('/build/wasm/testdata/package_fixture.json');
    return packageCache({ load: (url, o) => webaccel.load(url, { threads, nCtx: 256, ...o }), fixture,
      spoil: () => spoilCachedShards(fixture) });
  },

  async packageBad() {
    const fixture = await json('/build/wasm/testdata/package_fixture.json');
    const corrupt = await corruptPackage((url, o) => webaccel.load(url, { threads, nCtx: 256, ...o }), fixture);
    const missing = await rejection(webaccel.load('/build/wasm/testdata/no-such-package/manifest.json', { threads, cache: false }));
    const checks = { corruptNamed: corrupt.ok, missing: missing.kind === 'io' && /manifest\.json: HTTP 404/.test(missing.message) };
    return { ok: Object.values(checks).every(Boolean), checks, corrupt, missing };
  },

  async gpuGoldens() { return gpuGoldens(await gpuHost()); },
  async gpuAbsent() { return gpuAbsent(await gpuHost()); },
  async gpuLost() { return gpuLost(await gpuHost()); },

  // Served without COOP/COEP: asking for threads must fall back to the single-threaded build.
  async noIsolation() {
    const m = await webaccel.load(GGUF, { threads: 4, sha256: GGUF_SHA });
    const info = m.info();
    const r = await m.generate('The capital of France is', { chat: false, maxTokens: 4, temperature: 0 });
    m.dispose();
    return { ok: !crossOriginIsolated && info.threads === 1 && /^wasm-simd(-relaxed)?$/.test(info.variant) && r.tokens.length === 4,
      crossOriginIsolated, info, tokens: r.tokens };
  },
};

(async () => {
  let result;
  try {
    if (!scenarios[scenario]) throw new Error(`unknown scenario '${scenario}'`);
    result = await scenarios[scenario]();
  } catch (e) {
    result = { ok: false, error: `${e.kind ?? e.name}: ${e.message}` };
  }
  result.userAgent = navigator.userAgent;
  result.crossOriginIsolated = crossOriginIsolated;
  log(JSON.stringify(result, null, 1));
  window.__result = result;
  if (params.get('post')) {
    await fetch(`/__results/${params.get('post')}`, { method: 'POST', body: JSON.stringify(result) });
  }
})();
