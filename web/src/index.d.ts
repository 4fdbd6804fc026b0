// Types of webaccel's browser API (src/index.js).

export type ErrorKind = 'io' | 'format' | 'input' | 'internal' | 'unsupported';

export class WebaccelError extends Error {
  readonly kind: ErrorKind;
}

export interface Capabilities {
  simd: boolean;
  relaxedSimd: boolean;         // relaxed SIMD validates and gives exact answers (probe): the relaxed build is used
  threads: boolean;             // SharedArrayBuffer usable (cross-origin isolated)
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
}
export function capabilities(): Capabilities;

export interface Progress {
  file: string;                 // the URL this event is about (a package: its manifest or a shard)
  loaded: number;               // bytes of that file so far
  total: number;                // its size (0 when the server did not say)
  source: 'network' | 'cache';
  allLoaded: number;            // over every file of the model
  allTotal: number;             // a package: known from the manifest before any shard arrives
  components?: Record<string, { loaded: number; total: number }>;  // packages: bytes per manifest component ('embeddings', 'layers.3', 'head')
}

export interface LoadOptions {
  onProgress?: (p: Progress) => void;
  backend?: 'auto' | 'wasm' | 'webgpu';  // WebGPU absent, refused or lost: wasm, same output
  precompile?: boolean;         // WebGPU: create every pipeline at load (default true)
  threads?: number;             // default min(4, cores) when cross-origin isolated, else 1
  sha256?: string | Record<string, string>;  // GGUF: hex; folder: {fileName: hex}; package: {'manifest.json': hex} pins every shard
  cache?: string | false;       // Cache API name (default 'webaccel-v1'); false: no caching
  parallel?: number;            // packages: shards fetched at once (default 4)
  nCtx?: number;                // context length for generation (default 2048)
  distUrl?: string | URL;       // folder of webaccel-st.js / webaccel-mt.js (default ../dist/)
  relaxedSimd?: boolean;        // default true: webaccel-{st,mt}-relaxed.js where capabilities().relaxedSimd
}

export interface GenerateOptions {
  maxTokens?: number;           // default 128
  temperature?: number;         // 0 = greedy; default 0.7
  topK?: number;                // 0 = off; default 40
  topP?: number;                // 1 = off; default 0.95
  seed?: number;                // default 42
  chat?: boolean;               // wrap the prompt in the model's chat template (default true)
  ignoreEos?: boolean;
  returnLogits?: boolean;       // include the last position's logits in the result
  onToken?: (text: string, token: number) => void;
  signal?: AbortSignal;         // aborting rejects with an AbortError whose `partial` is the result so far
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  promptTokens: number[];
  stopped: 'length' | 'eos' | 'abort';
  timings: {
    promptMs: number;
    timeToFirstTokenMs: number;
    decodeMs: number;
    promptTokensPerSecond: number;
    decodeTokensPerSecond: number;
  };
  lastLogits?: Float32Array;
}

export interface EmbedResult {
  embeddings: Float32Array[];   // one per text, L2-normalised when the model says so
  dim: number;
  tokens: number;
  ms: number;
  sentencesPerSecond: number;
}

export interface ModelInfo {
  kind: 'llama' | 'bert';
  name: string;
  architecture: string;
  backend: 'wasm' | 'webgpu';   // what runs the model now
  gpu?: GpuAdapterInfo;         // the WebGPU adapter the model was given
  gpu_note?: string;            // why WebGPU is not (or no longer) in use
  variant: 'wasm-simd' | 'wasm-simd-threads' | 'wasm-simd-relaxed' | 'wasm-simd-threads-relaxed';
  simd: string;                 // the Highway target, 'WASM', or 'WASM+relaxed' in the relaxed build
  threads: number;
  loadMs: number;
  fromCache: boolean;           // nothing was downloaded
  downloadedBytes: number;      // from the network during this load (0 on a reload from the cache)
  format: 'gguf' | 'package' | 'safetensors';
  package?: { shards: number; refetched: string[] };  // shards fetched again after failing their checksum
  [key: string]: unknown;       // sizes: n_vocab, n_embd, n_layer, weight_bytes, ...
}

export interface GpuAdapterInfo {
  implementation: string;       // 'Dawn (Chromium 156)', 'wgpu (Firefox 153)', ...
  adapter: string;
  adapter_type: 'cpu' | 'unknown';  // 'cpu': a software adapter (SwiftShader, lavapipe)
  shader_f16: boolean;
  subgroups: boolean;
  max_storage_buffer_binding_size: number;
}

export interface Model {
  generate(prompt: string, options?: GenerateOptions): Promise<GenerateResult>;
  // On wasm the texts of one call share forwards (their tokens stacked): many texts a call run faster.
  embed(texts: string | string[]): Promise<EmbedResult>;
  info(): ModelInfo;
  refreshInfo(): Promise<ModelInfo>;
  dispose(): void;
}

/**
 * url: a GGUF (ending in .gguf), a webaccel package (its manifest.json, or the folder holding it: shards are
 * fetched in parallel, checked against the manifest's XXH3-64 and kept in the Cache API; a bad
 * cached or downloaded shard is fetched again once, then the load fails with kind 'format' naming
 * the shard and tensor), or a sentence-transformers folder.
 */
export function load(url: string | URL, options?: LoadOptions): Promise<Model>;

export interface GpuSelftestReport {
  gpu: Record<string, unknown>;  // the adapter, limits and features in use
  errors: string[];              // uncaptured WebGPU errors
  stats: { dispatches: number; submits: number; pipelinesSync: number; pipelinesAsync: number; compileMs: number };
  results: Record<'device' | 'kernels', { ok: boolean; cases: { name: string; ok: boolean; max_error: number }[]; ms: number }>;
}
export function gpuSelftest(options?: { which?: ('device' | 'kernels')[]; seed?: number; distUrl?: string | URL }): Promise<GpuSelftestReport>;
