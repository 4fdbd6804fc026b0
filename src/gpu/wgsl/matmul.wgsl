// y(tokens, rows) = x(tokens, cols) · Wᵀ (+ bias) (+ y when accumulating), W in any GPU weight
// layout (gpu/weight_layout.h). Composed by the C++ as: lib_reduce_{subgroup,workgroup}.wgsl +
// lib_quant_decode.wgsl + lib_matmul_io.wgsl + this file. Quantized single-token products on
// devices with subgroups use gemv.wgsl instead.
//
// A workgroup owns ROWS (4) consecutive rows and `tok` (1 or 4) consecutive tokens (grid: x row
// tiles, y token tiles). Its threads stride over the 16-byte units of the rows: each thread loads
// the unit of all four rows first (four loads in flight), then for each token reads each x vec4
// once for the four rows, accumulating in vec4 lanes (one per row). No arrays are indexed in the
// hot loop, so everything stays in registers. Partial sums are reduced across the workgroup at the end.
override wg: u32 = 128;  // a power of two
override tok: u32 = 1;   // tokens per workgroup: 1 (decode) or 4 (prefill, each weight unit reused 4 times)

const ROWS = 4u;

// Unit u of rows r (4 rows, clamped) dotted with x from vec4 index xb: one lane per row.
fn unit_dot(w: Unit, r: vec4<u32>, u: u32, xb: u32) -> vec4<f32> {
  let xs = unit_x(xb);
  return unit_dot_x(w, r, u, xs, word_xsums(xs));
}

@compute @workgroup_size(wg)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let upr = p.cols / unit_w;  // units per row
  let row0 = wid.x * ROWS;
  let tok0 = wid.y * tok;
  // A partial last tile repeats its last row / token: computed, never written.
  let r = min(vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.n_rows - 1u));
  let t = min(vec4<u32>(tok0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.tokens - 1u)) * (p.cols / 4u);
  var acc0 = vec4<f32>(0.0);  // token tok0 + i, one lane per row
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var u = lid; u < upr; u += wg) {
    let w = load_unit(r, upr, u);
    let xu = u * (unit_w / 4u);
    acc0 += unit_dot(w, r, u, t.x + xu);
    if (tok == 4u) {
      acc1 += unit_dot(w, r, u, t.y + xu);
      acc2 += unit_dot(w, r, u, t.z + xu);
      acc3 += unit_dot(w, r, u, t.w + xu);
    }
  }
  var slots: array<f32, 32>;  // [token * 4 + row]
  for (var i = 0u; i < 4u; i++) {
    slots[i] = acc0[i];
    slots[4u + i] = acc1[i];
    slots[8u + i] = acc2[i];
    slots[12u + i] = acc3[i];
  }
  let n = ROWS * tok;
  let sum = reduce_slots(&slots, n, lid);
  if (lid < n) {
    let ri = lid % ROWS;
    let ti = lid / ROWS;
    if (row0 + ri < p.n_rows && tok0 + ti < p.tokens) {
      let yr = p.y_row0 + row0 + ri;
      let yi = (tok0 + ti) * p.y_stride + yr;
      var v = sum;
      if ((p.flags & FLAG_BIAS) != 0u) { v += bias[yr]; }
      if ((p.flags & FLAG_ACCUMULATE) != 0u) { v += y[yi]; }
      y[yi] = v;
    }
  }
}
