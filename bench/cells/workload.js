// The timed part of one benchmark cell, the same in Node and in a browser page: the first
// inference (warm-up), then `iterations` timed ones; each inference runs `batch` sequences one
// after another, as the native runner does. `model` is a loaded webaccel model (JS API or Node host).
//   text generation: the prompt, greedy, decodeTokens single-token evaluations after it
//   text embedding: one sentence per sequence
export async function runWorkload(model, spec) {
  const now = () => performance.now();
  const out = { iterationMs: [], prefillMs: 0, decodeMs: 0, promptTokens: null };
  const generates = spec.arch === 'llama';
  for (let i = 0; i <= spec.iterations; ++i) {
    const t0 = now();
    for (let b = 0; b < spec.batch; ++b) {
      if (generates) {
        // maxTokens = decodeTokens + 1: the first token comes from the prompt's logits.
        const r = await model.generate(spec.text, { chat: false, temperature: 0, maxTokens: spec.decodeTokens + 1, ignoreEos: true });
        if (r.tokens.length !== spec.decodeTokens + 1) throw new Error(`generated ${r.tokens.length} tokens, expected ${spec.decodeTokens + 1}`);
        out.promptTokens = r.promptTokens.length;
        if (i > 0) {
          out.prefillMs += r.timings.promptMs;
          // From the prompt's end to the last token: every single-token evaluation.
          out.decodeMs += r.timings.timeToFirstTokenMs + r.timings.decodeMs - r.timings.promptMs;
        }
      } else {
        const r = await model.embed([spec.text]);
        out.promptTokens = r.tokens;
      }
    }
    const ms = now() - t0;
    if (i === 0) out.firstMs = ms;
    else out.iterationMs.push(ms);
  }
  return out;
}
