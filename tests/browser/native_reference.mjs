// Runs the native CLI on the SmolLM2 golden prompts (greedy, same token ids as llama.cpp got) so
// wasm results are compared with the native engine of this very checkout. Cached by binary mtime.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function nativeReference({ bin, gguf, golden, outDir, threads = 2 }) {
  if (!existsSync(bin)) throw new Error(`${bin}: native webaccel binary missing (build it, or set WEBACCEL_BIN)`);
  mkdirSync(outDir, { recursive: true });
  const stamp = `${statSync(bin).mtimeMs}:${statSync(gguf).size}`;
  const cacheFile = join(outDir, 'native_reference.json');
  if (existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
    if (cached.stamp === stamp) return cached.cases.map((c) => ({ ...c, logits: new Float32Array(c.logits) }));
  }
  const cases = golden.cases.map((c, i) => {
    const json = join(outDir, `native${i}.json`), logits = join(outDir, `native${i}.logits.bin`);
    execFileSync(bin, ['generate', '-m', gguf, '--token-ids', c.prompt_tokens.join(' '), '-n', String(c.generated_tokens.length),
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
