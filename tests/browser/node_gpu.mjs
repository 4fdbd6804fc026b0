// The WebGPU tests of the wasm build in Node + Dawn (npm `webgpu`) on SwiftShader, the same cases as
// the browser pages: the device and kernel self-tests, the GPU goldens, WebGPU absent, device lost.
//   node --no-experimental-fetch tests/browser/node_gpu.mjs [gpu-device gpu-kernels gpu-goldens gpu-absent gpu-lost]
// Env: WEBACCEL_BIN (native CLI for the reference), WEBACCEL_MODELS_DIR, VK_ICD_FILENAMES (default:
// Debian chromium's SwiftShader ICD), WEBACCEL_DIST (a wasm build of one's own, e.g. build/DIR/dist).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadNode, gpuSelftestNode } from '../../web/node.mjs';
import { gpuGoldens, gpuAbsent, gpuLost } from './gpu_cases.mjs';
import { nativeReference, goldenLogits } from './native_reference.mjs';
import { ROOT, BIN, summary } from './harness.mjs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;  // read when dawn.node creates its Vulkan instance
if (!existsSync(process.env.VK_ICD_FILENAMES)) throw new Error(`${process.env.VK_ICD_FILENAMES}: no Vulkan ICD (apt-get install chromium)`);
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
const adapterOptions = { forceFallbackAdapter: true };  // SwiftShader is Dawn's fallback adapter

const MODELS = process.env.WEBACCEL_MODELS_DIR ?? join(ROOT, 'models');
const distDir = process.env.WEBACCEL_DIST ? join(ROOT, process.env.WEBACCEL_DIST) : undefined;
const GOLDEN_DIR = join(ROOT, 'tests', 'golden');
const gguf = join(MODELS, 'smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const golden = JSON.parse(readFileSync(join(GOLDEN_DIR, 'smollm2_greedy.json'), 'utf8'));

function host() {
  return {
    load: (path, options) => loadNode(path, { gpu, adapterOptions, distDir, ...options }),
    llm: gguf,
    minilm: join(MODELS, 'minilm'),
    golden,
    native: nativeReference({ bin: BIN, gguf, golden, outDir: join(ROOT, 'build', 'wasm', 'reference') }),
    llamaLogits: goldenLogits(GOLDEN_DIR, golden),
    minilmGolden: JSON.parse(readFileSync(join(GOLDEN_DIR, 'minilm_embeddings.json'), 'utf8')),
  };
}

const SCENARIOS = {
  'gpu-device': async () => {
    const r = await gpuSelftestNode({ gpu, adapterOptions, distDir, which: ['device'] });
    return { ok: r.results.device.ok && r.errors.length === 0, gpuSelftest: r };
  },
  'gpu-kernels': async () => {
    const r = await gpuSelftestNode({ gpu, adapterOptions, distDir, which: ['kernels'] });
    return { ok: r.results.kernels.ok && r.errors.length === 0, gpuSelftest: r };
  },
  'gpu-goldens': () => gpuGoldens(host()),
  'gpu-absent': () => gpuAbsent(host()),
  'gpu-lost': () => gpuLost(host()),
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SCENARIOS);
console.log(`Node ${process.versions.node}, npm webgpu (Dawn), Vulkan ICD ${process.env.VK_ICD_FILENAMES}`);
let failures = 0;
for (const name of wanted) {
  if (!SCENARIOS[name]) throw new Error(`unknown scenario '${name}' (${Object.keys(SCENARIOS).join(', ')})`);
  let result;
  try {
    result = await SCENARIOS[name]();
  } catch (e) {
    result = { ok: false, error: `${e.kind ?? e.name}: ${e.message}` };
  }
  console.log(summary(name, result));
  if (!result.ok) console.log(JSON.stringify(result, null, 1).slice(0, 3000));
  failures += !result.ok;
}
console.log(`${wanted.length - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
