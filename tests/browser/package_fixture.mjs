// The webaccel packages the package scenarios load (not committed): SmolLM2 quantized to 4 bits by
// the native CLI into build/wasm/testdata/smollm2-q4/ (made once; delete it to remake), a copy
// served with one shard corrupted, and the native CLI's greedy tokens from the package; MiniLM
// quantized to 8 bits (minilm-q8/) and the native CLI's embeddings from it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeReference } from './native_reference.mjs';

export const PACKAGE_CASES = 2;   // the first golden prompts, a few tokens each: software browsers are slow
export const PACKAGE_TOKENS = 4;
const CORRUPT_SHARD = 1;
const SENTENCES = ['The cat sits on the mat.', 'A kitten rests on a rug.'];

// Returns {dir, corruptDir, corruptShard, corruptTensor, reference (native tokens per case)} and
// writes it to build/wasm/testdata/package_fixture.json for the pages.
export function preparePackage({ bin, root }) {
  const testdata = join(root, 'build', 'wasm', 'testdata');
  const dir = join(testdata, 'smollm2-q4');
  const gguf = join(root, 'models', 'smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
  if (!existsSync(join(dir, 'manifest.json'))) {
    execFileSync(bin, ['quantize', '-m', gguf, '--bits', '4', '-o', dir, '-t', '2'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const corruptDir = join(testdata, 'smollm2-q4-corrupt');
  const corruptTensor = manifest.tensors.find((t) => t.shard === CORRUPT_SHARD).name;
  makeCorruptCopy(dir, corruptDir, manifest, CORRUPT_SHARD);

  const golden = JSON.parse(readFileSync(join(root, 'tests', 'golden', 'smollm2_greedy.json'), 'utf8'));
  const cases = { ...golden, cases: golden.cases.slice(0, PACKAGE_CASES) };
  const reference = nativeReference({ bin, model: dir, golden: cases, outDir: join(root, 'build', 'wasm', 'reference'),
    name: 'package_reference', maxTokens: PACKAGE_TOKENS }).map((c) => c.generated_tokens);
  const fixture = {
    url: '/build/wasm/testdata/smollm2-q4/', corruptUrl: '/build/wasm/testdata/smollm2-q4-corrupt/manifest.json',
    corruptShard: manifest.shards[CORRUPT_SHARD].file, corruptTensor,
    shards: manifest.shards.map((s) => ({ file: s.file, size: s.size })),
    components: [...new Set(manifest.tensors.map((t) => t.component))],
    cases: cases.cases.map((c, i) => ({ prompt: c.prompt, promptTokens: c.prompt_tokens, native: reference[i] })),
    bert: prepareBertPackage(bin, root, testdata),
  };
  writeFileSync(join(testdata, 'package_fixture.json'), JSON.stringify(fixture));
  return { ...fixture, dir, corruptDir };
}

// MiniLM as an 8-bit package and the native CLI's embeddings of SENTENCES from it (cached by binary and package).
function prepareBertPackage(bin, root, testdata) {
  const dir = join(testdata, 'minilm-q8');
  if (!existsSync(join(dir, 'manifest.json'))) {
    execFileSync(bin, ['quantize', '-m', join(root, 'models', 'minilm'), '--bits', '8', '-o', dir, '-t', '2'],
      { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const stamp = `${statSync(bin).mtimeMs}:${statSync(join(dir, 'manifest.json')).mtimeMs}`;
  const out = join(root, 'build', 'wasm', 'reference', 'minilm_package_reference.json');
  let ref = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : null;
  if (ref?.stamp !== stamp) {
    execFileSync(bin, ['embed', '-m', dir, '-t', '2', '-o', out, ...SENTENCES], { stdio: ['ignore', 'ignore', 'inherit'] });
    ref = { stamp, embeddings: JSON.parse(readFileSync(out, 'utf8')).embeddings };
    writeFileSync(out, JSON.stringify(ref));
  }
  return { url: '/build/wasm/testdata/minilm-q8/', dir, sentences: SENTENCES, native: ref.embeddings };
}

// The package with one byte of the first tensor of shard `bad` flipped; the other files are hard links.
function makeCorruptCopy(dir, out, manifest, bad) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  copyFileSync(join(dir, 'manifest.json'), join(out, 'manifest.json'));
  for (const [i, s] of manifest.shards.entries()) {
    if (i !== bad) {
      linkSync(join(dir, s.file), join(out, s.file));
      continue;
    }
    const bytes = readFileSync(join(dir, s.file));
    bytes[manifest.tensors.find((t) => t.shard === bad).offset + 17] ^= 0x5a;
    writeFileSync(join(out, s.file), bytes);
  }
}
