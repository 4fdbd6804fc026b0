// A plain copy, dst = src, 16 bytes per invocation per step: the memory-bandwidth yardstick every
// GPU kernel's effective bandwidth is compared with (bench/gpu).
override wg: u32 = 256;

struct Params {
  n_vec4: u32,      // elements of 16 bytes to copy
  stride: u32,      // invocations in the whole grid (grid-stride loop)
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var i = gid.x;
  loop {
    if (i >= p.n_vec4) { break; }
    dst[i] = src[i];
    i += p.stride;
  }
}
