// y(tokens, rows) = x(tokens, cols) · Wᵀ (+ bias) (+ y when accumulating), W in any GPU weight
// layout (gpu/weight_layout.h). Composed by the C++ as: lib_reduce_{subgroup,workgroup}.wgsl +
// lib_quant_decode.wgsl + this file.
//
// A workgroup owns ROWS (4) consecutive rows and `tok` (1 or 4) consecutive tokens (grid: x row
// tiles, y token tiles). Its threads stride over the 16-byte units of the rows: each thread loads
// the unit of all four rows first (four loads in flight), then for each token reads each x vec4
// once for the four rows, accumulating in vec4 lanes (one per row). No arrays are indexed in the
// hot loop, so everything stays in registers. Partial sums are reduced across the workgroup at the end.
override wg: u32 = 128;  // a power of two
override tok: u32 = 1;   // tokens per workgroup: 1 (decode) or 4 (prefill, each weight unit reused 4 times)

const ROWS = 4u;
const FLAG_BIAS = 1u;
const FLAG_ACCUMULATE = 2u;

struct Params {
  n_rows: u32,      // rows of this dispatch (a row range of the matrix)
  cols: u32,
  tokens: u32,
  y_stride: u32,    // floats between tokens in y (the matrix's rows)
  y_row0: u32,      // the range's first row in y and bias
  flags: u32,
  code_base: u32,   // the range's first unit in `codes` (binding offset remainder)
  hi_base: u32,     // the same in `hi`
  scale_base: u32,  // the range's first scale entry: u32 (WQ), f16 (symmetric), vec4 (WK)
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<vec4<u32>>;  // (n_rows, cols / unit) units
@group(0) @binding(2) var<storage, read> hi: array<vec2<u32>>;     // 3-bit high plane; else codes again
@group(0) @binding(3) var<storage, read> scales: array<u32>;       // float formats: codes again
@group(0) @binding(4) var<storage, read> x: array<vec4<f32>>;      // (tokens, cols)
@group(0) @binding(5) var<storage, read> bias: array<f32>;         // (rows); x again when unused
@group(0) @binding(6) var<storage, read_write> y: array<f32>;      // (tokens, y_stride)

// The four rows' codes of one unit.
struct Unit {
  c0: vec4<u32>, c1: vec4<u32>, c2: vec4<u32>, c3: vec4<u32>,
  h0: vec2<u32>, h1: vec2<u32>, h2: vec2<u32>, h3: vec2<u32>,
}

// x vec4 k of the unit at xb, or zero past the unit (k and unit_w constant: the branch folds).
fn x_at(xb: u32, k: u32) -> vec4<f32> {
  if (k < unit_w / 4u) { return x[xb + k]; }
  return vec4<f32>(0.0);
}

// Unit u of rows r (4 rows, clamped) dotted with x from vec4 index xb: one lane per row.
fn unit_dot(w: Unit, r: vec4<u32>, u: u32, xb: u32) -> vec4<f32> {
  let xs = UnitX(x[xb], x_at(xb, 1u), x_at(xb, 2u), x_at(xb, 3u), x_at(xb, 4u), x_at(xb, 5u), x_at(xb, 6u),
                 x_at(xb, 7u), x_at(xb, 8u), x_at(xb, 9u), x_at(xb, 10u), x_at(xb, 11u), x_at(xb, 12u),
                 x_at(xb, 13u), x_at(xb, 14u), x_at(xb, 15u));
  let xsum = word_xsums(xs);
  let s0 = word_scales(p.scale_base, p.cols, r.x, u);
  let s1 = word_scales(p.scale_base, p.cols, r.y, u);
  let s2 = word_scales(p.scale_base, p.cols, r.z, u);
  let s3 = word_scales(p.scale_base, p.cols, r.w, u);
  return vec4<f32>(dot(s0.d, word_dots(w.c0, w.h0, xs)) + dot(s0.m, xsum),
                   dot(s1.d, word_dots(w.c1, w.h1, xs)) + dot(s1.m, xsum),
                   dot(s2.d, word_dots(w.c2, w.h2, xs)) + dot(s2.m, xsum),
                   dot(s3.d, word_dots(w.c3, w.h3, xs)) + dot(s3.m, xsum));
}

fn load_unit(r: vec4<u32>, upr: u32, u: u32) -> Unit {
  var w: Unit;
  w.c0 = codes[p.code_base + r.x * upr + u];
  w.c1 = codes[p.code_base + r.y * upr + u];
  w.c2 = codes[p.code_base + r.z * upr + u];
  w.c3 = codes[p.code_base + r.w * upr + u];
  if (bits == 3u) {
    w.h0 = hi[p.hi_base + r.x * upr + u];
    w.h1 = hi[p.hi_base + r.y * upr + u];
    w.h2 = hi[p.hi_base + r.z * upr + u];
    w.h3 = hi[p.hi_base + r.w * upr + u];
  }
  return w;
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
