// Flash-style attention: out(tokens, n_head * head_dim) = softmax(q k^T * scale) v, one workgroup
// per (query token, head). Keys come in tiles of `wg`: each thread scores one key, then every thread
// folds the tile into a running max / sum (online softmax) and its own output dims; no score matrix
// is stored. Grouped-query heads: head h reads kv head h / (n_head / n_head_kv).
// Caches are (n_ctx, n_head_kv * head_dim); causal rows see keys [0, pos0 + t], others [0, n_kv).
struct Params {
  tokens: u32,
  n_head: u32,
  n_head_kv: u32,
  head_dim: u32,
  pos0: u32,
  n_kv: u32,
  causal: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const wg: u32 = 64;           // threads = keys per tile
const dims_per_thread: u32 = 4u;  // so head_dim <= 256
const max_head_dim: u32 = 256u;

var<workgroup> q_s: array<f32, max_head_dim>;  // the query, pre-scaled
var<workgroup> p_s: array<f32, wg>;            // scores, then probabilities, of one tile

@compute @workgroup_size(wg)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let t = wid.y;
  let hd = params.head_dim;
  let kv_dim = params.n_head_kv * hd;
  let kv_off = (head / (params.n_head / params.n_head_kv)) * hd;
  let q_off = (t * params.n_head + head) * hd;
  let n_keys = select(params.n_kv, params.pos0 + t + 1u, params.causal != 0u);

  for (var d = lid; d < hd; d += wg) {
    q_s[d] = q[q_off + d] * params.scale;
  }
  workgroupBarrier();

  var acc: array<f32, dims_per_thread>;
  var m = -3.402823e38;  // running max
  var l = 0.0;           // running sum of exp(score - m)
  for (var j0 = 0u; j0 < n_keys; j0 += wg) {
    let nj = min(wg, n_keys - j0);
    if (lid < nj) {
      let k_row = (j0 + lid) * kv_dim + kv_off;
      var s = 0.0;
      for (var d = 0u; d < hd; d++) {
        s += q_s[d] * k_cache[k_row + d];
      }
      p_s[lid] = s;
    }
    workgroupBarrier();
    var m_tile = m;
    for (var j = 0u; j < nj; j++) {
      m_tile = max(m_tile, p_s[j]);
    }
    let correction = exp(m - m_tile);
    workgroupBarrier();  // all threads read the scores before any is replaced
    if (lid < nj) {
      p_s[lid] = exp(p_s[lid] - m_tile);
    }
    workgroupBarrier();
    var tile_sum = 0.0;
    for (var j = 0u; j < nj; j++) {
      tile_sum += p_s[j];
    }
    l = l * correction + tile_sum;
    m = m_tile;
    for (var c = 0u; c < dims_per_thread; c++) {
      let d = lid + c * wg;
      if (d < hd) {
        var a = acc[c] * correction;
        for (var j = 0u; j < nj; j++) {
          a += p_s[j] * v_cache[(j0 + j) * kv_dim + kv_off + d];
        }
        acc[c] = a;
      }
    }
    workgroupBarrier();  // p_s is rewritten by the next tile
  }
  let inv = 1.0 / l;
  for (var c = 0u; c < dims_per_thread; c++) {
    let d = lid + c * wg;
    if (d < hd) {
      out[q_off + d] = acc[c] * inv;
    }
  }
}
