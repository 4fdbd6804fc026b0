// The webaccel-package scenarios: the browser page (webaccel.load in a Worker, Cache API) and the
// Node runner (loadNode, files on disk) pass their `load(url, options)` and the fixture written by
// package_fixture.mjs (package URL, the native CLI's greedy tokens from the same package).
import { cosine } from './goldens.mjs';

const same = (a, b) => JSON.stringify(Array.from(a)) === JSON.stringify(Array.from(b));
// 8-bit matmuls round differently in the wasm and native kernels: measured 0.99985-0.99993 (each
// about 0.9996 from the f32 model).
const MIN_PACKAGE_COSINE = 0.9995;

// The MiniLM package: embeddings close to the native CLI's from the same package.
export async function bertPackage(load, bert, url = bert.url) {
  const m = await load(url);
  const info = m.info();
  const r = await m.embed(bert.sentences);
  m.dispose();
  const worst = Math.min(...r.embeddings.map((e, i) => cosine(e, bert.native[i])));
  return { ok: info.kind === 'bert' && worst >= MIN_PACKAGE_COSINE, worst, kind: info.kind };
}

// Greedy tokens of each fixture prompt: the same as the native CLI's from the same package.
export async function packageTokens(model, fixture, cases = fixture.cases.length) {
  const rows = [];
  for (const c of fixture.cases.slice(0, cases)) {
    const r = await model.generate(c.prompt, { chat: false, temperature: 0, maxTokens: c.native.length, ignoreEos: true });
    rows.push({ tokens: r.tokens, native: c.native, ok: same(r.promptTokens, c.promptTokens) && same(r.tokens, c.native) });
  }
  return { ok: rows.every((r) => r.ok), rows };
}

// Progress in bytes and per component: every component of the manifest reported, all complete at the end.
export function progressChecks(events, fixture) {
  const last = events.at(-1);
  const components = Object.entries(last?.components ?? {});
  return {
    bytes: last?.allLoaded === last?.allTotal && last?.allTotal > fixture.shards.reduce((s, x) => s + x.size, 0),
    components: components.length === fixture.components.length && components.every(([, c]) => c.loaded === c.total && c.total > 0),
    partial: events.some((e) => e.allLoaded < e.allTotal && Object.values(e.components ?? {}).some((c) => c.loaded < c.total)),
  };
}

// A package whose shard on the server (or disk) is corrupted: a clear error naming the shard and tensor.
export async function corruptPackage(load, fixture, url = fixture.corruptUrl) {
  const t0 = Date.now();
  try {
    (await load(url, { cache: false })).dispose();
    return { ok: false, error: 'the corrupted package loaded' };
  } catch (e) {
    const named = e.message.includes(fixture.corruptShard) && e.message.includes(`'${fixture.corruptTensor}'`);
    return { ok: e.kind === 'format' && named, kind: e.kind, message: e.message, ms: Date.now() - t0 };
  }
}

// Browser only: the first load downloads every shard in parallel, a reload downloads nothing, and
// cached shards spoiled two ways (truncated; corrupted under a matching SHA-256 header, so only the
// manifest's XXH3 notices) are fetched again once and cached anew.
export async function packageCache({ load, fixture, spoil }) {
  const events = [];
  const cold = await load(fixture.url, { onProgress: (p) => events.push(p) });
  const coldInfo = cold.info();
  const tokens = await packageTokens(cold, fixture);
  cold.dispose();
  const warm = await load(fixture.url);
  const warmInfo = warm.info();
  const warmTokens = await packageTokens(warm, fixture, 1);
  warm.dispose();
  const spoiled = await spoil();
  const healed = await load(fixture.url);
  const healedInfo = healed.info();
  const healedTokens = await packageTokens(healed, fixture, 1);
  healed.dispose();
  const again = await load(fixture.url);
  const againInfo = again.info();
  again.dispose();
  const bert = await bertPackage(load, fixture.bert);
  const total = fixture.shards.reduce((s, x) => s + x.size, 0);
  const checks = {
    format: coldInfo.format === 'package' && coldInfo.package.shards === fixture.shards.length,
    ...progressChecks(events, fixture),
    network: events.some((e) => e.source === 'network') && coldInfo.downloadedBytes > total,
    nativeTokens: tokens.ok,
    reloadDownloadsNothing: warmInfo.fromCache && warmInfo.downloadedBytes === 0 && warmTokens.ok,
    spoiledRefetched: !healedInfo.fromCache && healedInfo.downloadedBytes === spoiled.bytes &&
      healedInfo.package.refetched.includes(spoiled.xxh3Caught) && healedTokens.ok,
    healedCached: againInfo.fromCache && againInfo.downloadedBytes === 0,
    bertPackage: bert.ok,
  };
  return {
    ok: Object.values(checks).every(Boolean), checks, tokens,
    coldLoadMs: coldInfo.loadMs, warmLoadMs: warmInfo.loadMs, healedLoadMs: healedInfo.loadMs,
    downloaded: { cold: coldInfo.downloadedBytes, warm: warmInfo.downloadedBytes, healed: healedInfo.downloadedBytes },
    refetched: healedInfo.package.refetched, info: coldInfo, bert,
  };
}
