// Attention of one token (a decode step), its keys split over `splits` workgroups per head
// ("flash decoding"): one query row per head is too few workgroups to fill a GPU when each walks
// the whole context alone. Workgroup (head, split) folds cache keys [split * split_keys, + split_keys)
// in tiles (fold_tiles below); splits == 1 writes out, more write each split's unnormalised p v and
// (max, sum) to partials for attention_combine.wgsl. Composed after lib_rope.wgsl and
// lib_attention.wgsl (its Running softmax, q_s and p_s).
// A decode step waits on this dispatch once per layer with few workgroups, so it is bound by
// latency, not bandwidth: both the scores and p v read whole cache rows with consecutive threads on
// consecutive vec4 (coalesced), each thread issuing all its loads of a tile at once (8 keys), so a
// tile costs one memory round trip (one thread per key walking its row cost head_dim / 16 + 4).
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
override wg: u32 = 256;       // threads: (head_dim / 4 lanes) x key groups
override new_kv: bool = false;

const partial_slots: u32 = 2048u;  // a tile's per-lane score parts (then the groups' p v, as floats)
const max_keys_per_thread: u32 = 8u;

var<workgroup> k_own: array<vec4<f32>, 64>;  // new_kv: the token's turned key (head_dim / 4 used)
var<workgroup> v_own: array<vec4<f32>, 64>;  // and its value
var<workgroup> parts: array<f32, partial_slots>;

// Keys per thread and tile: 8, or fewer where a tile would pass lib_attention's max_tile scores.
fn keys_per_thread() -> u32 {
  let lanes = head_dim / 4u;
  let groups = wg / lanes;
  return min(min(max_keys_per_thread, partial_slots / (groups * lanes)), max_tile / groups);
}

// Max and sum of scores [at, at + 8) of the tile's p_s (those below `tile`).
fn chunk_max(at: u32, tile: u32) -> f32 {
  var v = masked;
  for (var k = at; k < min(at + 8u, tile); k++) {
    v = max(v, p_s[k]);
  }
  return v;
}

fn chunk_sum(at: u32, tile: u32) -> f32 {
  var v = 0.0;
  for (var k = at; k < min(at + 8u, tile); k++) {
    v += p_s[k];
  }
  return v;
}

// Folds cache keys [begin, end) of the kv head at kv_off4 (rows kv_dim4 vec4 apart) into r; q_s
// holds the scaled query once the first tile's barrier has passed (its loads are issued before it,
// as they do not depend on q; main waits itself when there is no tile). Thread (lane, group) reads vec4 `lane` of the tile's keys group,
// group + groups, ...: for the scores its lane's part of q k (the parts of a key meet in `parts`,
// rotated by the key so neither the writes nor the per-key sums collide in a memory bank), for
// p v its lane of those keys' values.
fn fold_tiles(r: Running, begin: u32, end: u32, kv_dim4: u32, kv_off4: u32, lid: u32) -> Running {
  let lanes = head_dim / 4u;
  let groups = wg / lanes;
  let per = keys_per_thread();
  let tile = per * groups;
  let lane = lid % lanes;
  let group = lid / lanes;  // == groups for the threads left over (idle but at the barriers)
  let working = group < groups;
  var acc = r.acc;
  var m = r.m;
  var l = r.l;
  for (var j0 = begin; j0 < end; j0 += tile) {
    var kv: array<vec4<f32>, max_keys_per_thread>;
    var vv: array<vec4<f32>, max_keys_per_thread>;
    if (working) {
      for (var u = 0u; u < per; u++) {  // every load of the tile, values too, before any use
        let at = min(j0 + group + u * groups, end - 1u) * kv_dim4 + kv_off4 + lane;
        kv[u] = k_cache[at];
        vv[u] = v_cache[at];
      }
    }
    if (j0 == begin) {
      workgroupBarrier();  // q_s (and k_own, v_own) written by main: the first tile's loads are already in flight
    }
    let qv = q_s[lane];
    if (working) {
      for (var u = 0u; u < per; u++) {
        let t = group + u * groups;
        parts[t * lanes + (lane + t) % lanes] = dot(qv, kv[u]);
      }
    }
    workgroupBarrier();
    if (lid < tile) {
      var s = 0.0;
      for (var i = 0u; i < lanes; i++) {
        s += parts[lid * lanes + (i + lid) % lanes];
      }
      p_s[lid] = select(masked, s, j0 + lid < end);
    }
    workgroupBarrier();
    // The tile's max and sum in two levels (eighths in `parts`, free again here): a tile of 128
    // keys walked by every thread was two 128-long chains of workgroup-memory reads.
    let eighths = (tile + 7u) / 8u;  // <= 32
    if (lid < eighths) {
      parts[lid] = chunk_max(lid * 8u, tile);
    }
    workgroupBarrier();
    var m_tile = m;
    for (var c = 0u; c < eighths; c++) {
      m_tile = max(m_tile, parts[c]);
    }
    let correction = exp(m - m_tile);
    if (lid < tile) {
      p_s[lid] = exp(p_s[lid] - m_tile);  // 0 for padded keys; each thread its own score, read above
    }
    workgroupBarrier();
    if (lid < eighths) {
      parts[32u + lid] = chunk_sum(lid * 8u, tile);
    }
    workgroupBarrier();
    var tile_sum = 0.0;
    for (var c = 0u; c < eighths; c++) {
      tile_sum += parts[32u + c];
    }
    l = l * correction + tile_sum;
    m = m_tile;
    var a = acc * correction;
    if (working) {
      for (var u = 0u; u < per; u++) {
        a += p_s[group + u * groups] * vv[u];
      }
    }
    acc = a;
    workgroupBarrier();  // p_s and parts are rewritten by the next tile
  }
  return Running(m, l, acc);
}

// The workgroup's p v of its head: thread lid < head_dim / 4 gets its lane summed over the key
// groups (others get 0). Every thread calls it, after fold_tiles' last barrier.
fn sum_groups_in_parts(acc: vec4<f32>, lid: u32) -> vec4<f32> {
  let lanes = head_dim / 4u;
  let groups = wg / lanes;
  if (lid / lanes < groups) {
    parts[4u * lid] = acc.x;
    parts[4u * lid + 1u] = acc.y;
    parts[4u * lid + 2u] = acc.z;
    parts[4u * lid + 3u] = acc.w;
  }
  workgroupBarrier();
  var total = vec4<f32>();
  if (lid < lanes) {
    for (var g = 0u; g < groups; g++) {
      let at = 4u * (g * lanes + lid);
      total += vec4<f32>(parts[at], parts[at + 1u], parts[at + 2u], parts[at + 3u]);
    }
  }
  return total;
}

// (sin, cos) of pairs 2c and 2c + 1 for position pos, as rope_kv.wgsl turns them: computed once a
// thread for both q and k (the angle's loop is serial; pair 2c + 1's is pair 2c's times theta_scale).
struct PairAngles {
  a: vec2<f32>,
  b: vec2<f32>,
}

fn pair_angles(c: u32, pos: u32) -> PairAngles {
  let theta = rope_angle(pos, 2u * c, params.theta_scale);
  return PairAngles(sin_cos(theta), sin_cos(theta * params.theta_scale));
}

// Columns 4c .. 4c + 3 of a head (pairs 2c and 2c + 1) turned by their angles sc.
fn rope4(x: vec4<f32>, c: u32, sc: PairAngles) -> vec4<f32> {
  var y = x;
  if (4u * c < params.n_rot) {
    y = vec4<f32>(rope_turn(x.xy, sc.a), y.zw);
  }
  if (4u * c + 2u < params.n_rot) {
    y = vec4<f32>(y.xy, rope_turn(x.zw, sc.b));
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
      let sc = pair_angles(lid, pos);
      q = rope4(q, lid, sc);
      if (last) {
        let k_at = params.n_head * lanes + kv_off4 + lid;
        let k = rope4(row[k_at], lid, sc);
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
  if (begin >= end) {
    workgroupBarrier();  // no cached keys: fold_tiles' first-tile barrier does not run
  }
  var r = fold_tiles(running_start(), begin, end, kv_dim4, kv_off4, lid);
  if (new_kv && last) {
    r = fold_own_key(r, lid);
  }
  let total = sum_groups_in_parts(r.acc, lid);
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
