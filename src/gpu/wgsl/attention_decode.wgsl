// Attention of one token (a decode step), its keys split over `splits` workgroups per head
// ("flash decoding"): one query row per head is too few workgroups to fill a GPU when each walks
// the whole context alone. Workgroup (head, split) folds cache keys [split * split_keys, + split_keys)
// with lib_attention.wgsl's tile loop; splits == 1 writes out, more write each split's unnormalised
// p v and (max, sum) to partials for attention_combine.wgsl. Composed after lib_rope.wgsl and
// lib_attention.wgsl.
// new_kv fuses rope_kv.wgsl's work for the token into the same dispatch: the row holds
// [q: n_head heads | k: n_head_kv | v: n_head_kv] at position n_keys - 1; q is turned here (not
// written back), the token's own key is turned and folded from workgroup memory by the last split,
// and that split's first head of each kv head stores k and v in cache row n_keys - 1, which no
// workgroup of this dispatch reads (the same rotation as rope_kv.wgsl, bit for bit).
struct Params {
  n_head: u32,
  n_head_kv: u32,
  n_keys: u32,       // keys attended: cache rows [0, n_keys), the last one the row's own with new_kv
  split_keys: u32,   // cache keys per split (the last split may have fewer)
  splits: u32,       // workgroups per head (the dispatch's y)
  n_rot: u32,        // new_kv: RoPE turns the first n_rot dims of a head (even, <= head_dim)
  theta_scale: f32,  // new_kv: base^(-2 / n_rot), computed on the CPU as llama.cpp does
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row: array<vec4<f32>>;  // q (n_head * head_dim), then k, v with new_kv
@group(0) @binding(2) var<storage, read_write> k_cache: array<vec4<f32>>;  // (n_ctx, n_head_kv * head_dim)
@group(0) @binding(3) var<storage, read_write> v_cache: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;  // (n_head * head_dim)
// (n_head, splits, head_dim / 4 + 1) vec4: a split's p v lanes, then (max, sum, 0, 0)
@group(0) @binding(5) var<storage, read_write> partials: array<vec4<f32>>;

override head_dim: u32 = 64;  // a multiple of 16, at most 256
override wg: u32 = 64;        // threads = keys per tile: 64, 128 or 256
override new_kv: bool = false;

var<workgroup> k_own: array<vec4<f32>, 64>;  // new_kv: the token's turned key (head_dim / 4 used)
var<workgroup> v_own: array<vec4<f32>, 64>;  // and its value

// Columns 4c .. 4c + 3 of a head (pairs 2c and 2c + 1) turned for position pos, as rope_kv.wgsl does.
fn rope4(x: vec4<f32>, c: u32, pos: u32) -> vec4<f32> {
  var y = x;
  if (4u * c < params.n_rot) {
    y = vec4<f32>(rope_turn(x.xy, sin_cos(rope_angle(pos, 2u * c, params.theta_scale))), y.zw);
  }
  if (4u * c + 2u < params.n_rot) {
    y = vec4<f32>(y.xy, rope_turn(x.zw, sin_cos(rope_angle(pos, 2u * c + 1u, params.theta_scale))));
  }
  return y;
}

// The token's own key folded into r (every thread the same score; lane threads add its value).
fn fold_own_key(r: Running, lid: u32) -> Running {
  let lanes = head_dim / 4u;
  var s = 0.0;
  for (var c = 0u; c < lanes; c++) {
    s += dot(q_s[c], k_own[c]);
  }
  let m = max(r.m, s);
  let correction = exp(r.m - m);
  let p = exp(s - m);
  let own = select(vec4<f32>(), p * v_own[lid % lanes], lid < lanes);  // key group 0's share
  return Running(m, r.l * correction + p, r.acc * correction + own);
}

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let split = wid.y;
  let lanes = head_dim / 4u;
  let group_size = params.n_head / params.n_head_kv;
  let kv_dim4 = params.n_head_kv * lanes;  // a cache row, in vec4
  let kv_off4 = (head / group_size) * lanes;
  let pos = params.n_keys - 1u;  // the token's position
  let cached = select(params.n_keys, pos, new_kv);  // keys read from the cache
  let begin = split * params.split_keys;
  let end = min(max(cached, begin), begin + params.split_keys);
  let last = split + 1u == params.splits;  // folds the token's own key (new_kv)

  if (lid < lanes) {
    var q = row[head * lanes + lid];
    if (new_kv) {
      q = rope4(q, lid, pos);
      if (last) {
        let k_at = params.n_head * lanes + kv_off4 + lid;
        let k = rope4(row[k_at], lid, pos);
        let v = row[k_at + kv_dim4];
        k_own[lid] = k;
        v_own[lid] = v;
        if (head % group_size == 0u) {
          k_cache[pos * kv_dim4 + kv_off4 + lid] = k;
          v_cache[pos * kv_dim4 + kv_off4 + lid] = v;
        }
      }
    }
    q_s[lid] = q * params.scale;
  }
  workgroupBarrier();
  var r = fold_keys(running_start(), begin, end, kv_dim4, kv_off4, lid);
  if (new_kv && last) {
    r = fold_own_key(r, lid);
  }
  let total = sum_groups(r.acc, lid);
  if (lid < lanes) {
    if (params.splits == 1u) {
      out[head * lanes + lid] = total / r.l;
    } else {
      let at = (head * params.splits + split) * (lanes + 1u);
      partials[at + lid] = total;
      if (lid == 0u) {
        partials[at + lanes] = vec4<f32>(r.m, r.l, 0.0, 0.0);
      }
    }
  }
}
