// Loads a webaccel package (manifest.json + shard files) into the wasm module for the browser
// worker and the Node host, which differ only in where bytes come from (`source`):
//   source.get(url, {fresh, onBytes(loaded, total, from)}) -> {bytes, from: 'cache' | 'network' | 'disk'}
//   source.keep(url, bytes)   stores a verified download (the Cache API); source.evict(url) drops a bad entry
// Shards are fetched in parallel (at most `parallel` at once, lowest priority first), each checked
// against the manifest in wasm (size, XXH3-64 of the shard and of every tensor) before it is kept;
// a bad cached or downloaded shard is fetched again once, then the load fails naming the shard and tensor.

export const DEFAULT_PARALLEL = 4;

const packageError = (message, kind) => Object.assign(new Error(message), { kind });

// The manifest fields this loader needs, checked before anything is downloaded.
export function parseManifest(url, bytes) {
  let m;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw packageError(`${url}: invalid JSON: ${e.message}`, 'format');
  }
  if (m?.format !== 'webaccel-package') throw packageError(`${url}: 'format' is not "webaccel-package"`, 'format');
  if (!Array.isArray(m.shards) || !Array.isArray(m.tensors)) throw packageError(`${url}: 'shards' or 'tensors' is missing`, 'format');
  for (const s of m.shards) {
    if (typeof s.file !== 'string' || s.file.includes('/') || s.file.includes('..') || !(s.size > 0)) {
      throw packageError(`${url}: shard entry ${JSON.stringify(s).slice(0, 80)} is not a plain file name with a size`, 'format');
    }
  }
  const architecture = m.metadata?.['general.architecture']?.value ?? 'llama';
  if (architecture !== 'llama' && architecture !== 'bert') {
    throw packageError(`${url}: '${architecture}' packages do not load here (llama and bert packages do)`, 'unsupported');
  }
  return { ...m, architecture };
}

// Bytes loaded per component ("embeddings", "layers.3", ...), kept up to date as shards stream in.
class ComponentProgress {
  #byShard; #components = {};

  constructor(manifest) {
    this.#byShard = manifest.shards.map(() => []);
    for (const t of manifest.tensors) {
      const c = (this.#components[t.component ?? 'other'] ??= { loaded: 0, total: 0 });
      c.total += t.size;
      this.#byShard[t.shard]?.push({ offset: t.offset, size: t.size, loaded: 0, c });
    }
  }

  // `received` bytes of the shard have arrived (they arrive in order).
  update(shard, received) {
    for (const t of this.#byShard[shard]) {
      const now = Math.max(0, Math.min(t.size, received - t.offset));
      t.c.loaded += now - t.loaded;
      t.loaded = now;
    }
  }

  snapshot() {
    return Object.fromEntries(Object.entries(this.#components).map(([k, v]) => [k, { ...v }]));
  }
}

// Copies bytes into a wasm-side buffer in 8 MiB pieces (one embind call each).
export function toFileBuffer(module, name, bytes) {
  const buffer = new module.FileBuffer(name, bytes.length);
  const step = 8 << 20;
  for (let offset = 0; offset < bytes.length; offset += step) {
    buffer.write(offset, bytes.subarray(offset, Math.min(bytes.length, offset + step)));
  }
  return buffer;
}

// Runs task(item) for every item with at most `limit` running at once; the first failure rejects.
async function eachLimited(items, limit, task) {
  let next = 0, failed = null;
  const lane = async () => {
    while (next < items.length && !failed) {
      const item = items[next++];
      try {
        await task(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed) throw failed;
}

/**
 * Fetches and checks every shard of the package whose manifest (already fetched: `manifestBytes`)
 * is at manifestUrl; returns a wasm PackageBuffer for `new module.Llama(...)` or `new module.Bert(...)`
 * (the caller deletes it), the architecture ('llama' | 'bert') and what its shards cost:
 * {pkg, architecture, shards, downloadedBytes, fromCache, refetched: [shard urls]}.
 * onProgress({file, loaded, total, source, allLoaded, allTotal, components}).
 */
export async function loadPackage({ module, manifestUrl, manifestBytes, source, parallel = DEFAULT_PARALLEL, onProgress, log }) {
  const manifest = parseManifest(manifestUrl, manifestBytes);
  const base = manifestUrl.slice(0, manifestUrl.lastIndexOf('/') + 1);
  const components = new ComponentProgress(manifest);
  const shardLoaded = manifest.shards.map(() => 0);
  const allTotal = manifestBytes.length + manifest.shards.reduce((s, x) => s + x.size, 0);
  let allLoaded = manifestBytes.length;
  let downloadedBytes = 0, fromCache = true;
  const refetched = [];

  const manifestBuffer = toFileBuffer(module, manifestUrl, manifestBytes);
  const pkg = new module.PackageBuffer(manifestBuffer);
  manifestBuffer.delete();

  const fetchShard = async (index) => {
    const url = base + manifest.shards[index].file;
    const onBytes = (loaded, total, from) => {
      allLoaded += loaded - shardLoaded[index];
      shardLoaded[index] = loaded;
      components.update(index, loaded);
      onProgress?.({ file: url, loaded, total: total || manifest.shards[index].size, source: from, allLoaded, allTotal,
        components: components.snapshot() });
    };
    for (let attempt = 0; ; ++attempt) {
      let got;
      try {
        got = await source.get(url, { fresh: attempt > 0, onBytes });
      } catch (e) {
        // A download cut short is tried once more; a missing file (HTTP 4xx) is not.
        if (attempt > 0 || e.kind !== 'io' || /HTTP 4\d\d/.test(e.message)) throw e;
        log?.(`${e.message}; fetching it again`);
        continue;
      }
      if (got.from === 'network') downloadedBytes += got.bytes.length;
      if (got.from !== 'cache') fromCache = false;
      const problem = addShard(module, pkg, index, url, got.bytes, manifest.shards[index].size);
      if (!problem) {
        if (got.from === 'network') await source.keep?.(url, got.bytes);
        return;
      }
      // Reading the same file again changes nothing; a second bad download means the server's copy is bad.
      if (got.from === 'disk') throw packageError(problem, 'format');
      if (attempt > 0) throw packageError(`${problem} (fetched again from the server: its copy is bad)`, 'format');
      log?.(`${problem}; fetching it again`);
      refetched.push(url);
      if (got.from === 'cache') await source.evict?.(url);
    }
  };

  // Lower priority loads first: a shard's priority is that of its most urgent tensor.
  const priority = manifest.shards.map(() => Infinity);
  for (const t of manifest.tensors) priority[t.shard] = Math.min(priority[t.shard], t.priority ?? 0);
  const order = manifest.shards.map((_, i) => i).sort((a, b) => priority[a] - priority[b] || a - b);
  try {
    await eachLimited(order, parallel, fetchShard);
  } catch (e) {
    pkg.delete();
    throw e;
  }
  return { pkg, architecture: manifest.architecture, downloadedBytes, fromCache, refetched, shards: manifest.shards.length };
}

// Checks one shard in wasm and hands it to the package; returns why it was refused, or null.
function addShard(module, pkg, index, url, bytes, size) {
  if (bytes.length !== size) return `${url}: shard is ${bytes.length} bytes, the manifest says ${size} (truncated or replaced)`;
  const buffer = toFileBuffer(module, url, bytes);
  try {
    return pkg.addShard(index, buffer) || null;
  } finally {
    buffer.delete();
  }
}
