// The thin JS side of the wasm build's gpu::Device (src/gpu/web_device.cpp): it owns the GPUDevice
// (a browser's navigator.gpu, or Node's npm `webgpu`), maps integer ids to GPUBuffers and
// GPUComputePipelines, and records dispatches into one command encoder until a submit.
//
// The wasm side cannot await. Two things are asynchronous, and the host awaits `settle()` between
// calls into the wasm module for both:
//   - precompile(): createComputePipelineAsync for every pipeline a model needs;
//   - requestRead(): copy to a staging buffer, mapAsync, copy into wasm memory.
// No method throws into wasm: failures return 0 / -1 and `lostReason` tells why.

const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'];
const PARAM_SLOT = 256;       // minUniformBufferOffsetAlignment's largest allowed value
const PARAM_SLOTS = 4096;     // uniform ring: 1 MiB of params per submit
const BIND_GROUPS_KEPT = 8192; // past this, the cache starts afresh (views that keep changing)
const align4 = (n) => Math.ceil(n / 4) * 4;
const RUNS_IN_NODE = typeof globalThis.process?.versions?.node === 'string';

/**
 * gpu: a browser's navigator.gpu, or Node's (npm webgpu's create([])); null or undefined: absent.
 * Requests an adapter and a device at the adapter's real limits, with shader-f16, subgroups and
 * timestamp-query where offered. Resolves to a GpuBridge, or rejects with an Error whose `gpuReason`
 * says why WebGPU is unusable ('absent' | 'no-adapter' | 'device-refused').
 */
export async function openGpuBridge(gpu, adapterOptions = {}) {
  const refuse = (gpuReason, message) => Object.assign(new Error(message), { gpuReason });
  if (!gpu) throw refuse('absent', 'WebGPU is absent (no navigator.gpu)');
  let adapter;
  try {
    adapter = await gpu.requestAdapter(adapterOptions);
  } catch (e) {
    throw refuse('no-adapter', `requestAdapter failed: ${e.message}`);
  }
  if (!adapter) throw refuse('no-adapter', 'WebGPU offers no adapter');
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits = {};
  for (const name in adapter.limits) {
    if (typeof adapter.limits[name] === 'number') requiredLimits[name] = adapter.limits[name];
  }
  let device;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw refuse('device-refused', `requestDevice failed: ${e.message}`);
  }
  return new GpuBridge(gpu, adapter, device);
}

function implementationName() {
  const ua = globalThis.navigator?.userAgent ?? '';
  const chrome = ua.match(/Chrom(?:e|ium)\/(\d+)/);
  if (chrome) return `Dawn (Chromium ${chrome[1]})`;
  const firefox = ua.match(/Firefox\/(\d+)/);
  if (firefox) return `wgpu (Firefox ${firefox[1]})`;
  if (RUNS_IN_NODE) return `Dawn (Node ${globalThis.process.versions.node}, npm webgpu)`;
  return ua || 'unknown';
}

// WebGPU reports no adapter type; a fallback adapter, or a known software driver, is a CPU.
function adapterType(ai) {
  const text = [ai.vendor, ai.architecture, ai.device, ai.description].join(' ');
  return ai.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(text) ? 'cpu' : 'unknown';
}

// The bind group layout a WGSL source declares for @group(0): explicit, so a binding the shader
// never touches still accepts its buffer (auto layouts drop it).
function bindingLayout(wgsl) {
  const entries = [];
  const re = /@binding\((\d+)\)\s*(?:@group\(\d+\)\s*)?var\s*<\s*(uniform|storage)\s*(?:,\s*(read_write|read))?\s*>/g;
  for (const m of wgsl.matchAll(re)) {
    const type = m[2] === 'uniform' ? 'uniform' : m[3] === 'read_write' ? 'storage' : 'read-only-storage';
    entries.push({ binding: Number(m[1]), visibility: 4 /* GPUShaderStage.COMPUTE */, buffer: { type } });
  }
  return entries.sort((a, b) => a.binding - b.binding);
}

export class GpuBridge {
  constructor(gpu, adapter, device) {
    this.gpu = gpu;  // held: dawn.node frees its instance with the GPU object, under live devices
    this.adapter = adapter;
    this.device = device;
    this.lostReason = null;   // set once the device is lost (or destroyed): every later call fails
    this.errors = [];         // uncaptured validation / out-of-memory errors, in order
    this.buffers = [null];    // id -> GPUBuffer; 0 is never valid
    this.freeIds = [];
    this.pipelines = [null];  // id -> {key, pipeline, bindGroupLayout}
    this.pipelineIds = new Map();  // key -> id
    this.modules = new Map();      // WGSL text -> GPUShaderModule
    this.layouts = new Map();      // layout signature -> GPUPipelineLayout
    this.pending = new Set();      // promises settle() waits for
    this.reads = new Map();        // ticket -> 'pending' | 'done' | 'failed'
    this.nextTicket = 1;
    this.encoder = null;
    this.pass = null;
    this.ring = device.createBuffer({ label: 'webaccel params ring', size: PARAM_SLOT * PARAM_SLOTS,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.ringStaging = new Uint8Array(PARAM_SLOT * PARAM_SLOTS);
    this.ringUsed = 0;
    // Bind groups by (pipeline, params slot, views): a decode step records the same dispatches
    // every token, and creating a group per dispatch was most of a step's recording time.
    this.bindGroups = new Map();
    this.stats = { dispatches: 0, submits: 0, pipelinesSync: 0, pipelinesAsync: 0, compileMs: 0, bindGroupsMade: 0 };
    device.lost.then((info) => { this.lostReason ??= `WebGPU device lost (${info.reason}): ${info.message}`; });
    device.onuncapturederror = (e) => this.errors.push(e.error?.message ?? String(e.error));
    const ai = adapter.info ?? {};
    const limits = device.limits;
    this.info = {
      implementation: implementationName(),
      adapter: [ai.vendor, ai.architecture, ai.device, ai.description].filter(Boolean).join(' / ') ||
        (ai.isFallbackAdapter ? 'a fallback (software) adapter, not named' : 'not named'),
      backend: ai.backend ?? '',
      adapter_type: adapterType(ai),
      max_storage_buffer_binding_size: limits.maxStorageBufferBindingSize,
      max_buffer_size: limits.maxBufferSize,
      max_compute_workgroups_per_dimension: limits.maxComputeWorkgroupsPerDimension,
      max_compute_invocations_per_workgroup: limits.maxComputeInvocationsPerWorkgroup,
      max_compute_workgroup_size_x: limits.maxComputeWorkgroupSizeX,
      max_storage_buffers_per_shader_stage: limits.maxStorageBuffersPerShaderStage,
      min_uniform_buffer_offset_alignment: limits.minUniformBufferOffsetAlignment,
      shader_f16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      timestamps: device.features.has('timestamp-query'),
      packed_dot4: gpu.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product') ?? false,
      sync_readback: false,
    };
  }

  infoJson() { return JSON.stringify(this.info); }
  isLost() { return this.lostReason !== null; }

  // Tests and hosts: lose the device on purpose (as a driver reset would).
  destroy() {
    this.device.destroy();
    this.lostReason ??= 'WebGPU device lost (destroyed)';
  }

  // Resolves once every queued precompilation and read back has finished (each may have failed:
  // the wasm side sees that through hasPipeline / readStatus).
  async settle() {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
    // device.lost resolves in a task of its own: give it the chance to land before the next step.
    if (this.lostReason === null) await new Promise((resolve) => setTimeout(resolve, 0));
  }

  #track(promise) {
    const p = promise.finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  createBuffer(bytes, label) {
    if (this.lostReason) return 0;
    try {
      const buffer = this.device.createBuffer({ label, size: Math.max(4, align4(bytes)),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      const id = this.freeIds.pop() ?? this.buffers.length;
      this.buffers[id] = buffer;
      return id;
    } catch (e) {
      this.errors.push(`createBuffer '${label}' (${bytes} bytes): ${e.message}`);
      return 0;
    }
  }

  release(id) {
    const buffer = this.buffers[id];
    if (!buffer) return;
    this.flush();  // recorded work may still use it: destroy only what was submitted
    this.bindGroups.clear();  // ids are reused: no group may outlive its buffer's id
    buffer.destroy();
    this.buffers[id] = null;
    this.freeIds.push(id);
  }

  // queue.writeBuffer semantics: visible to dispatches recorded after it, not before, so whatever
  // was recorded is submitted first.
  writeBuffer(id, offset, memory, ptr, bytes) {
    if (this.lostReason) return -1;
    this.flush();
    let data = new Uint8Array(memory.buffer, ptr, bytes);
    if (!(memory.buffer instanceof ArrayBuffer)) data = data.slice();  // a SharedArrayBuffer (threaded build)
    this.device.queue.writeBuffer(this.buffers[id], offset, data);
    return 0;
  }

  #module(wgsl) {
    let module = this.modules.get(wgsl);
    if (!module) this.modules.set(wgsl, module = this.device.createShaderModule({ code: wgsl }));
    return module;
  }

  // The pipeline layout of a WGSL source's declared bindings, shared by sources that agree.
  #layout(wgsl) {
    const entries = bindingLayout(wgsl);
    const signature = JSON.stringify(entries);
    let layout = this.layouts.get(signature);
    if (!layout) {
      const bindGroupLayouts = [this.device.createBindGroupLayout({ entries })];
      this.layouts.set(signature, layout = this.device.createPipelineLayout({ bindGroupLayouts }));
    }
    return layout;
  }

  #descriptor(key, wgsl, entry, constantsJson) {
    return { label: key, layout: this.#layout(wgsl),
      compute: { module: this.#module(wgsl), entryPoint: entry, constants: JSON.parse(constantsJson) } };
  }

  hasPipeline(key) {
    const id = this.pipelineIds.get(key);
    return id !== undefined && this.pipelines[id].pipeline !== null;
  }

  // Synchronous creation (lazy compilation), unless a precompiled one exists under key.
  pipeline(key, wgsl, entry, constantsJson) {
    if (this.lostReason) return 0;
    const known = this.pipelineIds.get(key);
    if (known !== undefined && this.pipelines[known].pipeline) return known;
    const t0 = performance.now();
    try {
      const desc = this.#descriptor(key, wgsl, entry, constantsJson);
      const pipeline = this.device.createComputePipeline(desc);
      this.stats.pipelinesSync++;
      this.stats.compileMs += performance.now() - t0;
      return this.#store(key, pipeline);
    } catch (e) {
      this.errors.push(`pipeline '${key}': ${e.message}`);
      return 0;
    }
  }

  // Bind groups use the pipeline's getBindGroupLayout(0) (the explicit one it was made with):
  // dawn.node crashes on bind groups made from the GPUBindGroupLayout object itself.
  #store(key, pipeline) {
    let id = this.pipelineIds.get(key);
    if (id === undefined) {
      id = this.pipelines.length;
      this.pipelineIds.set(key, id);
    }
    this.pipelines[id] = { key, pipeline, bindGroupLayout: pipeline.getBindGroupLayout(0) };
    return id;
  }

  // Starts asynchronous creation; settle() waits for it. A failure is recorded in errors and the
  // key stays absent, so a later pipeline() call compiles it synchronously (and reports the error).
  precompile(key, wgsl, entry, constantsJson) {
    if (this.lostReason || this.pipelineIds.has(key)) return;
    const t0 = performance.now();
    let desc;
    try {
      desc = this.#descriptor(key, wgsl, entry, constantsJson);
    } catch (e) {
      this.errors.push(`pipeline '${key}': ${e.message}`);
      return;
    }
    this.#track(this.device.createComputePipelineAsync(desc).then((pipeline) => {
      this.#store(key, pipeline);
      this.stats.pipelinesAsync++;
      this.stats.compileMs = Math.max(this.stats.compileMs, performance.now() - t0);
    }, (e) => this.errors.push(`pipeline '${key}': ${e.message}`)));
  }

  #beginPass() {
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  #endPass() {
    this.pass?.end();
    this.pass = null;
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  // memory: the wasm WebAssembly.Memory (its .buffer is replaced when it grows).
  // views: `count` triples of f64 (buffer id, offset, bytes; bytes 0 = to the end) at viewsPtr.
  dispatch(pipelineId, memory, paramsPtr, paramsBytes, viewsPtr, count, gx, gy, gz) {
    if (this.lostReason) return -1;
    const record = this.pipelines[pipelineId];
    if (!record?.pipeline) return -2;
    if (this.ringUsed === PARAM_SLOTS) this.flush();
    const slot = this.ringUsed++;
    this.ringStaging.set(new Uint8Array(memory.buffer, paramsPtr, paramsBytes), slot * PARAM_SLOT);
    const views = new Float64Array(memory.buffer, viewsPtr, count * 3);
    const key = `${pipelineId}/${slot}/${views.join()}`;
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      const entries = [{ binding: 0, resource: { buffer: this.ring, offset: slot * PARAM_SLOT, size: PARAM_SLOT } }];
      for (let i = 0; i < count; ++i) {
        const buffer = this.buffers[views[3 * i]];
        const offset = views[3 * i + 1];
        const size = views[3 * i + 2] || buffer.size - offset;
        entries.push({ binding: i + 1, resource: { buffer, offset, size } });
      }
      bindGroup = this.device.createBindGroup({ layout: record.bindGroupLayout, entries });
      if (this.bindGroups.size >= BIND_GROUPS_KEPT) this.bindGroups.clear();
      this.bindGroups.set(key, bindGroup);
      this.stats.bindGroupsMade++;
    }
    const pass = this.#beginPass();
    pass.setPipeline(record.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(gx, gy, gz);
    this.stats.dispatches++;
    return 0;
  }

  copy(src, srcOffset, dst, dstOffset, bytes) {
    if (this.lostReason) return -1;
    this.#endPass().copyBufferToBuffer(this.buffers[src], srcOffset, this.buffers[dst], dstOffset, align4(bytes));
    return 0;
  }

  // Submits what was recorded, after the params its dispatches read.
  flush() {
    if (!this.encoder || this.lostReason) {
      this.encoder = this.pass = null;
      this.ringUsed = 0;
      return;
    }
    const encoder = this.#endPass();
    if (this.ringUsed) this.device.queue.writeBuffer(this.ring, 0, this.ringStaging, 0, this.ringUsed * PARAM_SLOT);
    this.device.queue.submit([encoder.finish()]);
    this.stats.submits++;
    this.encoder = null;
    this.ringUsed = 0;
  }

  // Copies bytes of a buffer into wasm memory at ptr, asynchronously; returns a ticket for
  // readStatus (0 when the device is already lost).
  requestRead(id, offset, bytes, memory, ptr) {
    if (this.lostReason) return 0;
    const size = align4(bytes);
    const staging = this.device.createBuffer({ label: 'webaccel read back', size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.#endPass().copyBufferToBuffer(this.buffers[id], offset, staging, 0, size);
    this.flush();
    const ticket = this.nextTicket++;
    this.reads.set(ticket, 'pending');
    this.#track(staging.mapAsync(GPUMapMode.READ).then(() => {
      // memory.buffer read now: the wasm memory may have grown (and been replaced) meanwhile.
      new Uint8Array(memory.buffer, ptr, bytes).set(new Uint8Array(staging.getMappedRange(0, size), 0, bytes));
      staging.unmap();
      this.reads.set(ticket, 'done');
    }, (e) => {
      this.reads.set(ticket, 'failed');
      this.lostReason ??= `read back failed: ${e.message}`;
    }).finally(() => staging.destroy()));
    return ticket;
  }

  // 1 done (and forgotten), 0 pending, -1 failed or unknown.
  readStatus(ticket) {
    const s = this.reads.get(ticket);
    if (s === 'pending') return 0;
    this.reads.delete(ticket);
    return s === 'done' ? 1 : -1;
  }

  // Resolves when the queue has drained (timing).
  async finish() {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }
}

/**
 * Runs the wasm module's GPU self-tests ('device': GpuDeviceCheck, 'kernels': GpuKernelCheck) on
 * the bridge's device: each records, waits for its read backs, then compares with the CPU.
 */
export async function runGpuSelftests(module, bridge, which, seed = 1) {
  const results = {};
  for (const name of which) {
    const check = name === 'device' ? new module.GpuDeviceCheck() : new module.GpuKernelCheck(seed);
    const t0 = performance.now();
    try {
      check.start();
      await bridge.settle();
      results[name] = { ...JSON.parse(check.finish()), ms: performance.now() - t0 };
    } finally {
      check.delete();
    }
  }
  return { gpu: bridge.info, errors: bridge.errors, stats: bridge.stats, results };
}
