// Flash-style attention over tiles of cached keys for attention.wgsl (prompt rows, one workgroup
// per (token, head)); attention_decode.wgsl (one token) shares its Running softmax, q_s and p_s
// but has its own tile loop. Composed in front of them. They declare the `head_dim` and `wg`
// overrides and the k_cache / v_cache bindings (array<vec4<f32>>, rows of n_head_kv heads).
// Keys come in tiles of `wg`: each thread scores one key, every thread folds the tile into the
// running max / sum (online softmax), then the workgroup, arranged as head_dim / 4 lanes (one vec4
// column of V each) times key groups, accumulates p v; the groups' partial sums are added once at
// the end (sum_groups). No score matrix is stored. head_dim and wg are pipeline constants so inner
// loops have constant trip counts, and each step issues several independent vec4 loads. The last tile is padded: keys past the end read the last
// valid row, weighted 0.

const max_tile: u32 = 256u;
const masked: f32 = -3.402823e38;

var<workgroup> q_s: array<vec4<f32>, 64>;         // the query, pre-scaled (head_dim / 4 used)
var<workgroup> p_s: array<f32, max_tile>;         // scores, then probabilities, of one tile (wg used)
var<workgroup> part: array<vec4<f32>, max_tile>;  // each key group's p v, summed at the end

// A running softmax: m and l are the same in every thread, acc is the thread's (lane, group) share.
struct Running {
  m: f32,          // max of the scores so far
  l: f32,          // sum of exp(score - m)
  acc: vec4<f32>,  // sum of exp(score - m) v over this thread's keys, in its vec4 lane of the head
}

fn running_start() -> Running {
  return Running(masked, 0.0, vec4<f32>());
}

// Folds cache keys [begin, end) of the kv head at kv_off4 (rows kv_dim4 vec4 apart) into r; q_s
// holds the scaled query. Every thread of the workgroup calls it with the same begin and end.
fn fold_keys(r: Running, begin: u32, end: u32, kv_dim4: u32, kv_off4: u32, lid: u32) -> Running {
  // The V layout: lane = vec4 column of the head, group = which keys of a tile it adds up.
  let lanes = head_dim / 4u;
  let groups = wg / lanes;
  let lane = lid % lanes;
  let group = lid / lanes;  // == groups for the threads left over (idle in the V phase)
  var acc = r.acc;
  var m = r.m;
  var l = r.l;
  for (var j0 = begin; j0 < end; j0 += wg) {
    let k_base = min(j0 + lid, end - 1u) * kv_dim4 + kv_off4;
    var s = vec4<f32>();  // four partial sums: four loads in flight per step
    for (var c = 0u; c < lanes; c += 4u) {
      let k0 = k_cache[k_base + c];
      let k1 = k_cache[k_base + c + 1u];
      let k2 = k_cache[k_base + c + 2u];
      let k3 = k_cache[k_base + c + 3u];
      s += vec4<f32>(dot(q_s[c], k0), dot(q_s[c + 1u], k1), dot(q_s[c + 2u], k2), dot(q_s[c + 3u], k3));
    }
    p_s[lid] = select(masked, s.x + s.y + s.z + s.w, j0 + lid < end);
    workgroupBarrier();
    var m_tile = m;
    for (var j = 0u; j < wg; j++) {
      m_tile = max(m_tile, p_s[j]);
    }
    let correction = exp(m - m_tile);
    workgroupBarrier();  // all threads read the scores before any is replaced
    p_s[lid] = exp(p_s[lid] - m_tile);  // 0 for padded keys
    workgroupBarrier();
    var tile_sum = 0.0;
    for (var j = 0u; j < wg; j++) {
      tile_sum += p_s[j];
    }
    l = l * correction + tile_sum;
    m = m_tile;
    // Keys group, group + groups, ... of the tile, eight at a time (eight loads in flight).
    var a = acc * correction;
    if (group < groups) {
      for (var j = group; j < wg; j += 8u * groups) {
        var pv = vec4<f32>();
        for (var u = 0u; u < 8u; u++) {
          let jj = j + u * groups;
          let p = select(0.0, p_s[min(jj, wg - 1u)], jj < wg);
          pv += p * v_cache[min(j0 + min(jj, wg - 1u), end - 1u) * kv_dim4 + kv_off4 + lane];
        }
        a += pv;
      }
    }
    acc = a;
    workgroupBarrier();  // p_s is rewritten by the next tile
  }
  return Running(m, l, acc);
}

// The workgroup's p v of its head: thread lid < head_dim / 4 gets its lane summed over the key
// groups (others get 0). Every thread calls it.
fn sum_groups(acc: vec4<f32>, lid: u32) -> vec4<f32> {
  let lanes = head_dim / 4u;
  let groups = wg / lanes;
  if (lid / lanes < groups) {
    part[lid] = acc;
  }
  workgroupBarrier();
  var total = vec4<f32>();
  if (lid < lanes) {
    for (var g = 0u; g < groups; g++) {
      total += part[g * lanes + lid];
    }
  }
  return total;
}
