// RoPE in place on x(tokens, n_heads, head_dim): llama.cpp's "norm" mode, rotating adjacent pairs
// (2i, 2i+1) of the first n_rot dims of each head by angle (pos0 + t) * theta_scale^i, the angle
// advanced by repeated f32 multiplication as ggml does, so it equals the CPU path's bit for bit.
// One thread per (token, head, pair).
struct Params {
  tokens: u32,
  n_heads: u32,
  head_dim: u32,
  n_rot: u32,
  pos0: u32,
  theta_scale: f32,  // base^(-2 / n_rot), computed on the CPU with std::pow as llama.cpp does
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

override wg: u32 = 256;

// (sin a, cos a) for a >= 0: Cody-Waite reduction by pi/4 in three parts (Cephes sinf), then
// minimax polynomials on [-pi/4, pi/4]; a few ulp for a < 8192, ~1e-6 absolute up to 5e4.
// WGSL's own sin/cos promise only 2^-11 absolute error, too little for large positions.
fn sin_cos(a: f32) -> vec2<f32> {
  var j = u32(a * 1.27323954473516);  // 4 / pi
  j = (j + 1u) & ~1u;
  let y = f32(j);
  let r = ((a - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  switch ((j >> 1u) & 3u) {
    case 0u: { return vec2<f32>(s, c); }
    case 1u: { return vec2<f32>(c, -s); }
    case 2u: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let half = params.n_rot / 2u;
  let i = (wid.y * groups.x + wid.x) * wg + lid;
  if (i >= params.tokens * params.n_heads * half) {
    return;
  }
  let pair = i % half;
  let head = (i / half) % params.n_heads;
  let t = i / (half * params.n_heads);
  var theta = f32(params.pos0 + t);
  for (var k = 0u; k < pair; k++) {
    theta *= params.theta_scale;
  }
  let sc = sin_cos(theta);
  let at = (t * params.n_heads + head) * params.head_dim + 2u * pair;
  let x0 = x[at];
  let x1 = x[at + 1u];
  x[at] = x0 * sc.y - x1 * sc.x;
  x[at + 1u] = x0 * sc.x + x1 * sc.y;
}
