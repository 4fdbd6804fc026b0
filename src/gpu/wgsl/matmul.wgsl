// y(tokens, rows) = x(tokens, cols) · Wᵀ (+ bias) (+ y when accumulating), W in any GPU weight
// layout (gpu/weight_layout.h). Composed by the C++ as: lib_reduce_{subgroup,workgroup}.wgsl +
// lib_quant_decode.wgsl + this file.
//
// A workgroup owns `rows` consecutive rows and `tok` consecutive tokens (grid: x row tiles,
// y token tiles). Its threads stride over the 16-byte units of the rows: each thread loads the
// unit of every row first (rows loads in flight), then for each token loads the x values once
// and reuses them for every row. Partial sums are reduced across the workgroup at the end.
override wg: u32 = 128;            // a power of two
override rows: u32 = 4;            // rows per workgroup (at most 8)
override tok: u32 = 1;             // tokens per workgroup; rows * tok <= 32

const MAX_ROWS = 8u;
const MAX_SLOTS = 32u;
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

@compute @workgroup_size(wg)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let uw = unit_weights();
  let upr = p.cols / uw;           // units per row
  let nseg = segments();
  let seg_vecs = uw / 4u / nseg;   // vec4s of x per segment
  let row0 = wid.x * rows;
  let tok0 = wid.y * tok;
  var acc: array<f32, MAX_SLOTS>;  // [r * tok + t]
  for (var u = lid; u < upr; u += wg) {
    var cw: array<vec4<u32>, MAX_ROWS>;
    var hw: array<vec2<u32>, MAX_ROWS>;
    var sc: array<vec2<f32>, 32>;  // [r * 4 + segment]
    for (var r = 0u; r < rows; r++) {
      let row = min(row0 + r, p.n_rows - 1u);  // a partial last tile repeats its last row, unwritten
      cw[r] = codes[p.code_base + row * upr + u];
      if (bits == 3u) { hw[r] = hi[p.hi_base + row * upr + u]; }
      for (var sg = 0u; sg < nseg; sg++) { sc[r * 4u + sg] = segment_scale(p.scale_base, p.cols, row, u, sg); }
    }
    for (var t = 0u; t < tok; t++) {
      let xb = min(tok0 + t, p.tokens - 1u) * (p.cols / 4u) + u * (uw / 4u);
      var xs: array<vec4<f32>, 16>;
      for (var i = 0u; i < uw / 4u; i++) { xs[i] = x[xb + i]; }
      var xsum: array<f32, 4>;  // per segment, for the m term (shared by every row)
      if (quantized()) {
        for (var sg = 0u; sg < nseg; sg++) {
          var s4 = vec4<f32>(0.0);
          for (var i = 0u; i < seg_vecs; i++) { s4 += xs[sg * seg_vecs + i]; }
          xsum[sg] = s4.x + s4.y + s4.z + s4.w;
        }
      }
      for (var r = 0u; r < rows; r++) {
        var total = 0.0;
        for (var sg = 0u; sg < nseg; sg++) {
          var a = vec4<f32>(0.0);
          for (var i = 0u; i < seg_vecs; i++) {
            let k = sg * seg_vecs + i;
            a = fma(unit_codes(cw[r], hw[r], k), xs[k], a);
          }
          let dm = sc[r * 4u + sg];
          total = fma(dm.x, a.x + a.y + a.z + a.w, fma(dm.y, xsum[sg], total));
        }
        acc[r * tok + t] += total;
      }
    }
  }
  let slot = lid;
  let sum = reduce_slots(&acc, rows * tok, lid);
  if (slot < rows * tok) {
    let r = slot / tok;
    let t = slot % tok;
    if (row0 + r < p.n_rows && tok0 + t < p.tokens) {
      let yr = p.y_row0 + row0 + r;
      let yi = (tok0 + t) * p.y_stride + yr;
      var v = sum;
      if ((p.flags & FLAG_BIAS) != 0u) { v += bias[yr]; }
      if ((p.flags & FLAG_ACCUMULATE) != 0u) { v += y[yi]; }
      y[yi] = v;
    }
  }
}
