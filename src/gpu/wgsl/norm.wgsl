// y(tokens, dim) = norm(x) * gamma (+ beta), one workgroup per row.
//   layer_norm = 0: RMSNorm   x / sqrt(mean(x^2) + eps) * gamma        (llama; beta unused at run time)
//   layer_norm = 1: LayerNorm (x - mean) / sqrt(var + eps) * gamma + beta  (BERT; two passes over x)
// RMSNorm binds gamma as beta too (read-only bindings may alias), so both share one layout.
struct Params {
  tokens: u32,
  dim: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override wg: u32 = 256;  // a power of two
override layer_norm: bool = false;

var<workgroup> partial: array<f32, 1024>;

// The sum of every thread's `v` across the workgroup, returned to all threads.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = wg / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      partial[lid] = partial[lid] + partial[lid + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();  // partial is reused by the next sum
  return total;
}

// x[base + i], or 0 past the row: unconditional (clamped) loads, so each step below issues four
// at once rather than waiting on each in turn (one 4096-row on an H100: 12 -> 10 us a call).
fn x_at(base: u32, i: u32) -> f32 {
  return select(0.0, x[base + min(i, params.dim - 1u)], i < params.dim);
}

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  let base = row * params.dim;
  let n = f32(params.dim);
  var mean = 0.0;
  if (layer_norm) {
    var s = vec4<f32>();
    for (var i = lid; i < params.dim; i += 4u * wg) {
      s += vec4<f32>(x_at(base, i), x_at(base, i + wg), x_at(base, i + 2u * wg), x_at(base, i + 3u * wg));
    }
    mean = workgroup_sum(lid, (s.x + s.y) + (s.z + s.w)) / n;
  }
  var ss = vec4<f32>();
  for (var i = lid; i < params.dim; i += 4u * wg) {
    let v = vec4<f32>(x_at(base, i), x_at(base, i + wg), x_at(base, i + 2u * wg), x_at(base, i + 3u * wg));
    let inside = vec4<u32>(i, i + wg, i + 2u * wg, i + 3u * wg) < vec4<u32>(params.dim);
    let d = select(vec4<f32>(), v - mean, inside);  // padding adds nothing to the variance
    ss += d * d;
  }
  let inv = 1.0 / sqrt(workgroup_sum(lid, (ss.x + ss.y) + (ss.z + ss.w)) / n + params.eps);
  for (var i0 = lid; i0 < params.dim; i0 += 4u * wg) {
    for (var u = 0u; u < 4u; u++) {
      let i = min(i0 + u * wg, params.dim - 1u);
      let v = (x[base + i] - mean) * inv * gamma[i];
      let out = select(v, v + beta[i], layer_norm);
      if (i0 + u * wg < params.dim) {
        y[base + i] = out;
      }
    }
  }
}
