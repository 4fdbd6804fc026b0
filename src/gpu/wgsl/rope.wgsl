// RoPE in place on x(tokens, n_heads, head_dim), rows row_stride floats apart (n_heads * head_dim
// when contiguous; more for heads inside a wider row, e.g. q and k of a fused QKV row, which are
// adjacent: n_head + n_head_kv heads). Composed after lib_rope.wgsl (angle, sin/cos).
// One thread per (token, head, pair).
struct Params {
  tokens: u32,
  n_heads: u32,
  head_dim: u32,
  n_rot: u32,
  pos0: u32,
  theta_scale: f32,  // base^(-2 / n_rot), computed on the CPU with std::pow as llama.cpp does
  row_stride: u32,   // floats from one token's row to the next
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

override wg: u32 = 256;

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
  let sc = sin_cos(rope_angle(params.pos0 + t, pair, params.theta_scale));
  let at = t * params.row_stride + head * params.head_dim + 2u * pair;
  let r = rope_turn(vec2<f32>(x[at], x[at + 1u]), sc);
  x[at] = r.x;
  x[at + 1u] = r.y;
}
