// The second pass of a split single-token attention (attention_decode.wgsl with splits > 1): each
// split s of a head left acc_s = sum of exp(score - m_s) v and l_s = sum of exp(score - m_s);
// rescaled to the largest max M, out = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s.
// One workgroup per head, one thread per vec4 lane of the head.
struct Params {
  n_head: u32,
  splits: u32,
  head_dim: u32,  // a multiple of 16, at most 256
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// (n_head, splits, head_dim / 4 + 1) vec4: a split's p v lanes, then (max, sum, 0, 0)
@group(0) @binding(1) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;  // (n_head * head_dim)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lanes = params.head_dim / 4u;
  if (lid >= lanes) {
    return;
  }
  let head = wid.x;
  let stride = lanes + 1u;  // one split's record
  let base = head * params.splits * stride;
  var m = partials[base + lanes].x;
  for (var s = 1u; s < params.splits; s++) {
    m = max(m, partials[base + s * stride + lanes].x);
  }
  var l = 0.0;
  var acc = vec4<f32>();
  for (var s = 0u; s < params.splits; s++) {
    let at = base + s * stride;
    let w = exp(partials[at + lanes].x - m);
    l += w * partials[at + lanes].y;
    acc += w * partials[at + lid];
  }
  out[head * lanes + lid] = acc / l;
}
