// Runs the native CLI on the SmolLM2 golden prompts (greedy, same token ids as llama.cpp got) so
// wasm results are compared with the native engine of this very checkout. Cached by binary mtime.
// model: a GGUF (gguf) or a package folder; name: the cache file; maxTokens: fewer tokens per case.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function nativeReference({ bin, gguf, model = gguf, golden, outDir, threads = 2, name = 'native_reference', maxTokens = Infinity }) {
  if (!existsSync(bin)) throw new Error(`${bin}: native webaccel binary missing (build it, or set WEBACCEL_BIN)`);
  mkdirSync(outDir, { recursive: true });
  const modelStamp = statSync(model).isDirectory() ? statSync(join(model, 'manifest.json')).mtimeMs : statSync(model).size;
  const stamp = `${statSync(bin).mtimeMs}:${modelStamp}:${maxTokens}`;
  const cacheFile = join(outDir, `${name}.json`);
  if (existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
    if (cached.stamp === stamp) return cached.cases.map((c) => ({ ...c, logits: new Float32Array(c.logits) }));
  }
  const cases = golden.cases.map((c, i) => {
    const json = join(outDir, `${name}${i}.json`), logits = join(outDir, `${name}${i}.logits.bin`);
    const n = Math.min(c.generated_tokens.length, maxTokens);
    execFileSync(bin, ['generate', '-m', model, '--token-ids', c.prompt_tokens.join(' '), '-n', String(n),
      '--temperature', '0', '--ignore-eos', '-q', '--json', json, '--dump-logits', logits, '-t', String(threads)],
    { stdio: ['ignore', 'ignore', 'ignore'] });
    const out = JSON.parse(readFileSync(json, 'utf8'));
    const b = readFileSync(logits);
    return { generated_tokens: out.generated_tokens, logits: Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4)) };
  });
  writeFileSync(cacheFile, JSON.stringify({ stamp, cases }));
  return cases.map((c) => ({ ...c, logits: new Float32Array(c.logits) }));
}

export function goldenLogits(goldenDir, golden) {
  return golden.cases.map((c) => {
    const b = readFileSync(join(goldenDir, c.last_logits_file));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  });
}
