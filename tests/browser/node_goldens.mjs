// The native goldens through the wasm build in Node, single-threaded and threaded variants:
//   node --no-experimental-fetch tests/browser/node_goldens.mjs [--threads 1,2]
// Env: WEBACCEL_BIN (native CLI, default build/release/webaccel), WEBACCEL_MODELS_DIR, WEBACCEL_DIST (the
// wasm build of a build directory of one's own, e.g. build/DIR/dist, instead of web/dist).
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNode } from '../../web/node.mjs';
import { checkSmollm2, checkMinilm } from './goldens.mjs';
import { nativeReference, goldenLogits } from './native_reference.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODELS = process.env.WEBACCEL_MODELS_DIR ?? join(ROOT, 'models');
const BIN = process.env.WEBACCEL_BIN ?? join(ROOT, 'build', 'release', 'webaccel');
const distDir = process.env.WEBACCEL_DIST ? join(ROOT, process.env.WEBACCEL_DIST) : undefined;
const GOLDEN_DIR = join(ROOT, 'tests', 'golden');
const arg = process.argv.indexOf('--threads');
const threadList = (arg > 0 ? process.argv[arg + 1] : '1,2').split(',').map(Number);

const gguf = join(MODELS, 'smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const golden = JSON.parse(readFileSync(join(GOLDEN_DIR, 'smollm2_greedy.json'), 'utf8'));
const minilmGolden = JSON.parse(readFileSync(join(GOLDEN_DIR, 'minilm_embeddings.json'), 'utf8'));
const native = nativeReference({ bin: BIN, gguf, golden, outDir: join(ROOT, 'build', 'wasm', 'reference') });
const llamaLogits = goldenLogits(GOLDEN_DIR, golden);

let failures = 0;
for (const threads of threadList) {
  const llm = await loadNode(gguf, { threads, nCtx: 512, distDir });
  const info = llm.info();
  const s = await checkSmollm2((p, o) => llm.generate(p, o), golden, native, llamaLogits);
  llm.dispose();
  console.log(`SmolLM2, wasm ${info.variant} (${info.simd}), ${threads} thread(s); logits bound vs the nearer of llama.cpp and native ${s.bound.toExponential(2)}`);
  console.log('case  prompt-tok  agree-native  agree-llama.cpp  native-agrees-llama.cpp  rel-L2-native  rel-L2-llama.cpp  decode-tok/s  status');
  for (const r of s.rows) {
    console.log(`${String(r.case).padStart(4)}  ${(r.promptTokensOk ? 'same' : 'DIFF').padStart(10)}  ${`${r.agreeNative}/${r.n}`.padStart(12)}` +
      `  ${`${r.agreeLlama}/${r.n}`.padStart(15)}  ${`${r.nativeAgreesLlama}/${r.n}`.padStart(23)}  ${r.logitsRelL2Native.toExponential(2).padStart(13)}` +
      `  ${r.logitsRelL2Llama.toExponential(2).padStart(16)}  ${r.decodeTokensPerSecond.toFixed(1).padStart(12)}  ${r.ok ? 'ok' : 'FAIL'}`);
  }
  failures += s.failures;

  const enc = await loadNode(join(MODELS, 'minilm'), { threads, distDir });
  const m = await checkMinilm((texts) => enc.embed(texts), minilmGolden);
  enc.dispose();
  console.log(`MiniLM, ${threads} thread(s): worst cosine vs ${minilmGolden.reference} ${m.worst.toFixed(6)} (need >= 0.9999), ` +
    `${m.sentencesPerSecond.toFixed(1)} sentences/s ${m.ok ? 'ok' : 'FAIL'}`);
  failures += !m.ok;
}
process.exit(failures ? 1 : 0);
