// The Node host of the same wasm build (tests, scripted runs): models are read from disk and run
// in this process; the threaded variant uses worker_threads.
//
//   import { loadNode } from './web/node.mjs';
//   const m = await loadNode('models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', { threads: 2 });
//   const r = await m.generate('Hello', { maxTokens: 16, temperature: 0 });
//
// Run Node with --no-experimental-fetch: Emscripten 3.1.6 otherwise tries fetch() for the .wasm.
import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const BERT_TEXT_FILES = ['config.json', 'vocab.txt', 'sentence_bert_config.json', '1_Pooling/config.json',
  'modules.json', 'tokenizer_config.json'];

async function instantiate(threads, dist) {
  const variant = join(dist, threads > 1 ? 'webaccel-mt.js' : 'webaccel-st.js');
  if (!existsSync(variant)) throw new Error(`${variant}: missing (run 'make wasm')`);
  return require(variant)({ webaccelWorkers: Math.max(0, threads - 1) });
}

function toFileBuffer(module, name, bytes) {
  const buffer = new module.FileBuffer(name, bytes.length);
  const step = 8 << 20;
  for (let offset = 0; offset < bytes.length; offset += step) {
    buffer.write(offset, bytes.subarray(offset, Math.min(bytes.length, offset + step)));
  }
  return buffer;
}

export async function loadNode(path, options = {}) {
  const threads = options.threads ?? 1;
  const module = await instantiate(threads, options.distDir ?? DIST);
  const full = resolve(path);
  let model, kind;
  if (full.endsWith('.gguf')) {
    const buffer = toFileBuffer(module, path, readFileSync(full));
    model = new module.Llama(buffer, threads, options.nCtx ?? 2048);
    buffer.delete();
    kind = 'llama';
  } else {
    const texts = {};
    for (const name of BERT_TEXT_FILES) {
      if (existsSync(join(full, name))) texts[name] = readFileSync(join(full, name), 'utf8');
    }
    const buffer = toFileBuffer(module, join(path, 'model.safetensors'), readFileSync(join(full, 'model.safetensors')));
    model = new module.Bert(path.replace(/\/$/, ''), texts, buffer, threads);
    buffer.delete();
    kind = 'bert';
  }
  return {
    info: () => ({ ...JSON.parse(model.info()), backend: 'wasm', variant: threads > 1 ? 'wasm-simd-threads' : 'wasm-simd' }),
    async generate(prompt, opts = {}) {
      if (kind !== 'llama') throw new Error('generate: this model is an encoder (use embed)');
      const { onToken, signal, ...rest } = opts;
      const t0 = performance.now();
      const promptTokens = Array.from(model.start(prompt, rest));
      const tPrompt = performance.now();
      const tokens = [];
      let text = '', stopped = 'length', tFirst = null;
      for (;;) {
        if (signal) await yieldToEventLoop();
        if (signal?.aborted) { stopped = 'abort'; break; }
        const step = model.next();
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
      const embeddings = texts.map((t) => { tokens += model.countTokens(t); return model.embed(t); });
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
