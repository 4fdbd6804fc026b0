// The device self-test's kernel (gpu/device_selftest.cpp): y = x * scale + bias over a bound range,
// exercising uniform params, views at offsets, an override constant and a read-write binding.
override wg: u32 = 64;
override scale: f32 = 2.0;

struct Params {
  n: u32,        // elements to write
  bias: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < p.n) {
    y[gid.x] = x[gid.x] * scale + p.bias;
  }
}
