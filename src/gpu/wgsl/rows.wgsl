// In place on x(rows, cols), one workgroup per row:
//   op = 0: softmax        x = exp(x - max) / sum
//   op = 1: l2 normalize   x = x / max(|x|, 1e-12)  (torch.nn.functional.normalize's floor)
struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

override wg: u32 = 256;  // a power of two
override op: u32 = 0;

var<workgroup> partial: array<f32, 1024>;

// max or sum of every thread's `v` across the workgroup, returned to all threads.
fn workgroup_reduce(lid: u32, v: f32, take_max: bool) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = wg / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      let a = partial[lid];
      let b = partial[lid + s];
      partial[lid] = select(a + b, max(a, b), take_max);
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * params.cols;
  if (op == 0u) {
    var m = -3.402823e38;
    for (var i = lid; i < params.cols; i += wg) {
      m = max(m, x[base + i]);
    }
    m = workgroup_reduce(lid, m, true);
    var s = 0.0;
    for (var i = lid; i < params.cols; i += wg) {
      let e = exp(x[base + i] - m);
      x[base + i] = e;
      s += e;
    }
    let inv = 1.0 / workgroup_reduce(lid, s, false);
    for (var i = lid; i < params.cols; i += wg) {
      x[base + i] = x[base + i] * inv;
    }
  } else {
    var ss = 0.0;
    for (var i = lid; i < params.cols; i += wg) {
      let v = x[base + i];
      ss += v * v;
    }
    let inv = 1.0 / max(sqrt(workgroup_reduce(lid, ss, false)), 1e-12);
    for (var i = lid; i < params.cols; i += wg) {
      x[base + i] = x[base + i] * inv;
    }
  }
}
