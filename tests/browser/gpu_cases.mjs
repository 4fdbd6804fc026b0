// The WebGPU scenarios shared by the browser page (webaccel.load in a Worker) and the Node runner
// (loadNode + npm webgpu): each takes the host's `load(url, options)` and plain data, so the three
// WebGPU implementations run the very same checks. Software WebGPU is slow (a 5-token SmolLM2
// prompt takes minutes on SwiftShader): the shortest golden prompt, its first token, a few sentences.
import { checkSmollm2, checkMinilm, cosine } from './goldens.mjs';

const PROMPT = 'The capital of France is';
const GREEDY = { chat: false, temperature: 0, maxTokens: 4, ignoreEos: true };
const GOLDEN_SENTENCES = 4;
const SENTENCES = ['The cat sits on the mat.', 'A kitten rests on a rug.'];
const same = (a, b) => JSON.stringify(Array.from(a)) === JSON.stringify(Array.from(b));

// The GPU path's goldens: SmolLM2's first tokens and prompt logits against the native engine and
// llama.cpp (the bar the native goldens use), MiniLM embeddings against sentence-transformers.
export async function gpuGoldens({ load, llm, minilm, golden, native, llamaLogits, minilmGolden }) {
  const m = await load(llm, { backend: 'webgpu', nCtx: 256 });
  const info = m.info();
  const s = await checkSmollm2((p, o) => m.generate(p, o), golden, native, llamaLogits, { cases: [0], maxTokens: 1 });
  m.dispose();
  const enc = await load(minilm, { backend: 'webgpu' });
  const encInfo = enc.info();
  const e = await checkMinilm((t) => enc.embed(t), minilmGolden, GOLDEN_SENTENCES);
  enc.dispose();
  const onGpu = info.backend === 'webgpu' && encInfo.backend === 'webgpu';
  return { ok: onGpu && s.failures === 0 && e.ok, onGpu, info, smollm2: s, minilm: e };
}

async function wasmReference(load, llm, minilm) {
  const w = await load(llm, { backend: 'wasm', nCtx: 256 });
  const tokens = (await w.generate(PROMPT, GREEDY)).tokens;
  w.dispose();
  const enc = await load(minilm, { backend: 'wasm' });
  const embeddings = (await enc.embed(SENTENCES)).embeddings;
  enc.dispose();
  return { tokens, embeddings };
}

// WebGPU hidden from the worker: backend 'webgpu' runs on wasm, with the wasm path's output.
export async function gpuAbsent({ load, llm, minilm }) {
  const want = await wasmReference(load, llm, minilm);
  const m = await load(llm, { backend: 'webgpu', nCtx: 256, _hideWebGpu: true });
  const info = m.info();
  const tokens = (await m.generate(PROMPT, GREEDY)).tokens;
  m.dispose();
  const enc = await load(minilm, { backend: 'webgpu', _hideWebGpu: true });
  const encInfo = enc.info();
  const embeddings = (await enc.embed(SENTENCES)).embeddings;
  enc.dispose();
  const checks = {
    llamaOnWasm: info.backend === 'wasm' && /absent/.test(info.gpu_note ?? ''),
    bertOnWasm: encInfo.backend === 'wasm',
    sameTokens: same(tokens, want.tokens),
    sameEmbeddings: embeddings.every((v, i) => same(v, want.embeddings[i])),
  };
  return { ok: Object.values(checks).every(Boolean), checks, gpuNote: info.gpu_note, tokens, wasmTokens: want.tokens };
}

// The device destroyed mid-generation, after the first streamed token (and between two embedding
// calls): the model goes on on wasm, and its output is the wasm path's.
export async function gpuLost({ load, llm, minilm }) {
  const want = await wasmReference(load, llm, minilm);
  const m = await load(llm, { backend: 'webgpu', nCtx: 256 });
  const before = m.info();
  let pieces = 0;
  const run = await m.generate(PROMPT, { ...GREEDY, onToken: () => { if (++pieces === 1) m._loseGpu(); } });
  const after = await m.refreshInfo();
  const again = (await m.generate(PROMPT, GREEDY)).tokens;  // still usable, now on wasm
  m.dispose();

  const enc = await load(minilm, { backend: 'webgpu' });
  const first = (await enc.embed(SENTENCES)).embeddings;
  await enc._loseGpu();
  const second = (await enc.embed(SENTENCES)).embeddings;
  const encAfter = await enc.refreshInfo();
  enc.dispose();
  const checks = {
    startedOnGpu: before.backend === 'webgpu',
    movedToWasm: after.backend === 'wasm' && /lost/.test(after.gpu_note ?? ''),
    sameTokens: same(run.tokens, want.tokens),
    usableAfter: same(again, want.tokens),
    bertMovedToWasm: encAfter.backend === 'wasm',
    gpuEmbeddingsClose: first.every((v, i) => cosine(v, want.embeddings[i]) >= 0.9999),
    sameEmbeddingsAfter: second.every((v, i) => same(v, want.embeddings[i])),
  };
  return { ok: Object.values(checks).every(Boolean), checks, gpuNote: after.gpu_note, tokens: run.tokens, wasmTokens: want.tokens };
}
