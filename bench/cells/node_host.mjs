// A wasm cell in Node (web/node.mjs, the same wasm build the browsers run): load, then the workload.
import { loadNode } from '../../web/node.mjs';
import { runWorkload } from './workload.js';

export async function runNodeCell(spec) {
  const t0 = performance.now();
  const model = await loadNode(spec.modelPath, { threads: spec.threads, nCtx: spec.nCtx });
  const loadMs = performance.now() - t0;
  try {
    const info = model.info();
    const timed = await runWorkload(model, spec);
    return { status: 'measured', loadMs, ...timed, threads: info.threads ?? spec.threads, variant: info.variant,
      hostVersion: process.version, memoryNote: 'peak RSS of the Node process (wait4)' };
  } finally {
    model.dispose();
  }
}
