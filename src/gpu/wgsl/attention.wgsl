// Flash-style attention of prompt rows: out(tokens, n_head * head_dim) = softmax(q k^T * scale) v,
// one workgroup per (query token, head), composed after lib_attention.wgsl (the tile loop).
// Grouped-query heads: head h reads kv head h / (n_head / n_head_kv). Caches are (n_ctx, n_head_kv
// * head_dim); causal rows see keys [0, pos0 + t], others [0, n_kv). Rows of q are q_stride floats
// apart (n_head * head_dim when contiguous; more when q is the first part of a fused QKV row); rows
// of out are contiguous. One token (a decode step) goes to attention_decode.wgsl instead.
struct Params {
  tokens: u32,
  n_head: u32,
  n_head_kv: u32,
  head_dim: u32,  // equals the head_dim constant
  pos0: u32,
  n_kv: u32,
  causal: u32,
  scale: f32,
  q_stride: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<vec4<f32>>;  // head_dim % 16 == 0
@group(0) @binding(3) var<storage, read> v_cache: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override head_dim: u32 = 64;  // a multiple of 16, at most 256
override wg: u32 = 64;        // threads = keys per tile: 64, 128 or 256

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let t = wid.y;
  let lanes = head_dim / 4u;
  let kv_dim4 = params.n_head_kv * lanes;  // a cache row, in vec4
  let kv_off4 = (head / (params.n_head / params.n_head_kv)) * lanes;
  let q_off = t * params.q_stride + head * head_dim;
  let out_off = (t * params.n_head + head) * head_dim;
  let n_keys = select(params.n_kv, params.pos0 + t + 1u, params.causal != 0u);

  if (lid < lanes) {
    let at = q_off + 4u * lid;
    q_s[lid] = vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]) * params.scale;
  }
  workgroupBarrier();
  let r = fold_keys(running_start(), 0u, n_keys, kv_dim4, kv_off4, lid);
  let total = sum_groups(r.acc, lid) / r.l;
  if (lid < lanes) {
    let at = out_off + 4u * lid;
    out[at] = total.x;
    out[at + 1u] = total.y;
    out[at + 2u] = total.z;
    out[at + 3u] = total.w;
  }
}
