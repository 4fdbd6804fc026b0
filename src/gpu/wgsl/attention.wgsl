// Flash-style attention: out(tokens, n_head * head_dim) = softmax(q k^T * scale) v, one workgroup
// per (query token, head). Keys come in tiles of `wg`: each thread scores one key, every thread
// folds the tile into the running max / sum (online softmax), then the workgroup, arranged as
// head_dim / 4 lanes (one vec4 column of V each) times key groups, accumulates p v; the groups'
// partial sums are added once at the end. No score matrix is stored. Grouped-query heads: head h
// reads kv head h / (n_head / n_head_kv). Caches are (n_ctx, n_head_kv * head_dim); causal rows
// see keys [0, pos0 + t], others [0, n_kv). Rows of q are q_stride floats apart (n_head * head_dim
// when contiguous; more when q is the first part of a fused QKV row); rows of out are contiguous.
// Decode is latency-bound (a few workgroups, one per head): head_dim and wg are pipeline
// constants so inner loops have constant trip counts, and each step issues several independent
// vec4 loads. The last tile is padded: keys past the end read the last valid row, weighted 0.
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

const max_tile: u32 = 256u;
const masked: f32 = -3.402823e38;

var<workgroup> q_s: array<vec4<f32>, 64>;      // the query, pre-scaled (head_dim / 4 used)
var<workgroup> p_s: array<f32, max_tile>;      // scores, then probabilities, of one tile (wg used)
var<workgroup> part: array<vec4<f32>, max_tile>;  // each key group's p v, summed at the end

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let t = wid.y;
  let kv_dim4 = params.n_head_kv * head_dim / 4u;  // a cache row, in vec4
  let kv_off4 = (head / (params.n_head / params.n_head_kv)) * head_dim / 4u;
  let q_off = t * params.q_stride + head * head_dim;
  let out_off = (t * params.n_head + head) * head_dim;
  let n_keys = select(params.n_kv, params.pos0 + t + 1u, params.causal != 0u);
  // The V layout: lane = vec4 column of the head, group = which keys of a tile it adds up.
  let lanes = head_dim / 4u;
  let groups = wg / lanes;
  let lane = lid % lanes;
  let group = lid / lanes;  // == groups for the threads left over (idle in the V phase)

  for (var c = lid; c < lanes; c += wg) {
    let at = q_off + 4u * c;
    q_s[c] = vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]) * params.scale;
  }
  workgroupBarrier();

  var acc = vec4<f32>();
  var m = masked;  // running max
  var l = 0.0;     // running sum of exp(score - m)
  for (var j0 = 0u; j0 < n_keys; j0 += wg) {
    let k_base = min(j0 + lid, n_keys - 1u) * kv_dim4 + kv_off4;
    var s = vec4<f32>();  // four partial sums: four loads in flight per step
    for (var c = 0u; c < lanes; c += 4u) {
      let k0 = k_cache[k_base + c];
      let k1 = k_cache[k_base + c + 1u];
      let k2 = k_cache[k_base + c + 2u];
      let k3 = k_cache[k_base + c + 3u];
      s += vec4<f32>(dot(q_s[c], k0), dot(q_s[c + 1u], k1), dot(q_s[c + 2u], k2), dot(q_s[c + 3u], k3));
    }
    p_s[lid] = select(masked, s.x + s.y + s.z + s.w, j0 + lid < n_keys);
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
          pv += p * v_cache[min(j0 + min(jj, wg - 1u), n_keys - 1u) * kv_dim4 + kv_off4 + lane];
        }
        a += pv;
      }
    }
    acc = a;
    workgroupBarrier();  // p_s is rewritten by the next tile
  }
  if (group < groups) {
    part[lid] = acc;
  }
  workgroupBarrier();
  if (lid < lanes) {
    var total = vec4<f32>();
    for (var g = 0u; g < groups; g++) {
      total += part[g * lanes + lid];
    }
    total = total / l;
    let at = out_off + 4u * lid;
    out[at] = total.x;
    out[at + 1u] = total.y;
    out[at + 2u] = total.z;
    out[at + 3u] = total.w;
  }
}
