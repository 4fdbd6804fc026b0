// One measurement per page load: ?run=NAME&threads=N[&relaxed=0]. Result in window.__result.
// relaxed=0 keeps webaccel on its SIMD128 build where the relaxed-SIMD one would be chosen;
// dist=URL loads webaccel's wasm build from there instead of web/dist (a developer's own build).
//   llm-webaccel / llm-wllama: SmolLM2 Q4_1 GGUF, same prompt, greedy, 64 new tokens, n_ctx 512
//   embed-webaccel / embed-transformers[-batch]: MiniLM over SENTENCES in one embed(texts) call
//     (webaccel stacks them into shared forwards); transformers.js (ONNX, WASM backend) one per call,
//     or all in one call (-batch)
//   ttft-webaccel: time to first token with a cold and then a warm Cache API
import * as webaccelModule from '../../web/src/index.js';

const params = new URLSearchParams(location.search);
const threads = Number(params.get('threads') || 1);
const relaxedSimd = params.get('relaxed') !== '0';
const distUrl = params.get('dist') ?? undefined;
const webaccel = { ...webaccelModule, load: (url, options) => webaccelModule.load(url, { distUrl, ...options }) };
const GGUF = '/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf';
export const PROMPT = 'The history of the printing press begins in the fifteenth century, when Johannes Gutenberg ' +
  'combined movable metal type, oil-based inks and a wooden press adapted from wine making. Within fifty years';
const N_NEW = 64;
const REPEATS = 3;
const SENTENCES = Array.from({ length: 32 }, (_, i) => [
  'The cat sits on the mat while the rain falls outside.',
  'Investors sold shares as prices dropped sharply in the morning session.',
  'A kitten rests on a warm rug near the fireplace.',
  'The committee will publish its final report on renewable energy next spring.',
][i % 4] + ` (${i})`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// transformers.js (ONNX, WASM backend): one sentence per call (no padding), or all in one call
// (batch: padded to the longest, about 19 tokens here), as webaccel's embed(texts) stacks them.
async function embedTransformers(batch) {
  const t = await import('../../bench/browser/node_modules/@huggingface/transformers/dist/transformers.web.js');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = '/models/';
  t.env.backends.onnx.wasm.wasmPaths = '/bench/browser/node_modules/onnxruntime-web/dist/';
  t.env.backends.onnx.wasm.numThreads = threads;
  const extractor = await t.pipeline('feature-extraction', 'minilm-onnx', { device: 'wasm', dtype: 'fp32' });
  const options = { pooling: 'mean', normalize: true };
  const embedAll = async () => {
    const t0 = performance.now();
    if (batch) await extractor(SENTENCES, options);
    else for (const s of SENTENCES) await extractor(s, options);
    return SENTENCES.length / ((performance.now() - t0) / 1000);
  };
  await embedAll();
  const rows = [];
  for (let i = 0; i < REPEATS; ++i) rows.push(await embedAll());
  const check = await extractor(SENTENCES[0], options);
  return { peer: 'transformers.js', version: t.env.version, batch, threads, sentences: SENTENCES.length,
    sentencesPerSecond: median(rows), firstValues: Array.from(check.data.slice(0, 4)) };
}

const runs = {
  async 'llm-webaccel'() {
    const m = await webaccel.load(GGUF, { threads, nCtx: 512, relaxedSimd });
    const rows = [];
    for (let i = 0; i <= REPEATS; ++i) {
      const r = await m.generate(PROMPT, { chat: false, temperature: 0, maxTokens: N_NEW, ignoreEos: true });
      if (i > 0) rows.push(r);  // the first run warms up
    }
    const info = m.info();
    m.dispose();
    return { peer: 'webaccel', variant: info.variant, threads: info.threads, promptTokens: rows[0].promptTokens.length,
      newTokens: rows[0].tokens.length,
      promptTokensPerSecond: median(rows.map((r) => r.timings.promptTokensPerSecond)),
      decodeTokensPerSecond: median(rows.map((r) => r.timings.decodeTokensPerSecond)) };
  },

  async 'llm-wllama'() {
    const { Wllama } = await import('../../bench/browser/node_modules/@wllama/wllama/esm/index.js');
    const w = new Wllama({ default: new URL('./node_modules/@wllama/wllama/esm/wasm/wllama.wasm', import.meta.url).href },
      { suppressNativeLog: true, allowOffline: true });
    await w.loadModelFromUrl(new URL(GGUF, location.href).href, { n_threads: threads, n_ctx: 512, n_gpu_layers: 0 });
    const rows = [];
    for (let i = 0; i <= REPEATS; ++i) {
      // cache_prompt off: each run evaluates the whole prompt, as webaccel's does.
      const r = await w.createCompletion({ prompt: PROMPT, max_tokens: N_NEW, temperature: 0, cache_prompt: false });
      if (i > 0) rows.push(r.timings);
    }
    const multi = w.isMultithread?.();
    await w.exit();
    return { peer: 'wllama', multithread: multi, threads, promptTokens: rows[0].prompt_n, newTokens: rows[0].predicted_n,
      promptTokensPerSecond: median(rows.map((t) => t.prompt_per_second)),
      decodeTokensPerSecond: median(rows.map((t) => t.predicted_per_second)) };
  },

  async 'embed-webaccel'() {
    const m = await webaccel.load('/models/minilm/', { threads, relaxedSimd });
    await m.embed(SENTENCES);  // a warm-up pass, as transformers.js gets (the JIT's optimizing tier settles)
    const rows = [];
    for (let i = 0; i < REPEATS; ++i) rows.push((await m.embed(SENTENCES)).sentencesPerSecond);
    const info = m.info();
    m.dispose();
    return { peer: 'webaccel', variant: info.variant, threads: info.threads, sentences: SENTENCES.length,
      sentencesPerSecond: median(rows) };
  },

  'embed-transformers'() { return embedTransformers(false); },
  'embed-transformers-batch'() { return embedTransformers(true); },

  async 'ttft-webaccel'() {
    await caches.delete('webaccel-v1');
    const out = {};
    for (const phase of ['cold', 'warm']) {
      const t0 = performance.now();
      const m = await webaccel.load(GGUF, { threads, nCtx: 512, relaxedSimd });
      let first = null;
      await m.generate(PROMPT, { chat: false, temperature: 0, maxTokens: 1,
        onToken: () => { first ??= performance.now(); } });
      out[`${phase}Ms`] = (first ?? performance.now()) - t0;
      out[`${phase}FromCache`] = m.info().fromCache;
      m.dispose();
    }
    return { peer: 'webaccel', threads, ...out };
  },
};

(async () => {
  let result;
  try {
    result = await runs[params.get('run')]();
  } catch (e) {
    result = { error: `${e.name}: ${e.message}` };
  }
  result.run = params.get('run');
  result.userAgent = navigator.userAgent;
  document.getElementById('log').textContent = JSON.stringify(result, null, 1);
  window.__result = result;
  // Firefox, which no framework drives here, reports through `webaccel serve --accept-results`.
  if (params.get('post')) await fetch(`/__results/${params.get('post')}`, { method: 'POST', body: JSON.stringify(result) });
})();
