// RoPE and the KV-cache store in one dispatch, over rows of a fused QKV product:
// qkv(tokens, row_stride) rows hold [q: n_head heads | k: n_head_kv heads | v: n_head_kv heads],
// each head head_dim floats. q is rotated in place (attention reads it from these rows); k is
// rotated and v copied into rows pos0 + t of the caches (n_ctx, n_head_kv * head_dim); the k and v
// of qkv are left as they were. Composed after lib_rope.wgsl (angle, sin/cos): the same rotation
// as rope.wgsl, bit for bit. One thread per (token, pair of adjacent columns of the row).
struct Params {
  tokens: u32,
  n_head: u32,
  n_head_kv: u32,
  head_dim: u32,     // even (heads never split a pair)
  n_rot: u32,        // even, <= head_dim
  pos0: u32,
  theta_scale: f32,  // base^(-2 / n_rot), computed on the CPU with std::pow as llama.cpp does
  row_stride: u32,   // floats from one qkv row to the next, >= (n_head + 2 n_head_kv) head_dim
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<f32>;

override wg: u32 = 256;

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let q_dim = params.n_head * params.head_dim;
  let kv_dim = params.n_head_kv * params.head_dim;
  let pairs = (q_dim + 2u * kv_dim) / 2u;  // per row
  let i = (wid.y * groups.x + wid.x) * wg + lid;
  if (i >= params.tokens * pairs) {
    return;
  }
  let t = i / pairs;
  let c = 2u * (i - t * pairs);        // column of the pair's first element
  let d = c % params.head_dim;         // its dim within the head (q_dim, kv_dim: whole heads)
  let at = t * params.row_stride + c;
  var x = vec2<f32>(qkv[at], qkv[at + 1u]);
  let rotated = c < q_dim + kv_dim && d < params.n_rot;
  if (rotated) {
    x = rope_turn(x, sin_cos(rope_angle(params.pos0 + t, d / 2u, params.theta_scale)));
  }
  let cache_row = (params.pos0 + t) * kv_dim;
  if (c < q_dim) {
    if (rotated) {
      qkv[at] = x.x;
      qkv[at + 1u] = x.y;
    }
  } else if (c < q_dim + kv_dim) {
    k_cache[cache_row + c - q_dim] = x.x;
    k_cache[cache_row + c - q_dim + 1u] = x.y;
  } else {
    v_cache[cache_row + c - q_dim - kv_dim] = x.x;
    v_cache[cache_row + c - q_dim - kv_dim + 1u] = x.y;
  }
}
