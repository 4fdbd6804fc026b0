// Shared by matmul.wgsl and gemv.wgsl (prepended by the C++, never a pipeline of its own): the
// matmul bindings and Params, loading one 16-byte unit of four rows, and its dot with x.
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
  x_eps: f32,       // gemv.wgsl with x_mode 1: the RMSNorm epsilon
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

// The four rows' codes of one unit and, where the unit has scale words of its own (one or two per
// row), those words: loaded with the codes, so a step waits for memory once rather than for the
// codes, then the scales (gemv.wgsl, int8 x, H200: 2 bits +3-49% GB/s, 3 bits +2-23%, 4 bits
// 0-22%; docs/benchmarks.md).
struct Unit {
  c0: vec4<u32>, c1: vec4<u32>, c2: vec4<u32>, c3: vec4<u32>,
  h0: vec2<u32>, h1: vec2<u32>, h2: vec2<u32>, h3: vec2<u32>,
  s: vec4<u32>,   // where early_scale(): the rows' (d, m) words of the unit's first segment
  s1: vec4<u32>,  // and of its second (n_seg 2); unused (and not loaded) otherwise
}

// Not where units share a word (groups wider than a unit, e.g. WQ8_G32: loading it once per unit
// lost 1-5% GB/s, H200).
fn early_scale() -> bool { return quantized() && !superblock && !symmetric && group <= unit_w && n_seg <= 2u; }

// The (d, m) word of segment k of unit u of a row.
fn unit_scale_word(row: u32, u: u32, k: u32) -> u32 {
  return scales[p.scale_base + row * (p.cols / group) + u * unit_w / group + k];
}

fn load_unit(r: vec4<u32>, upr: u32, u: u32) -> Unit {
  var w: Unit;
  if (early_scale()) {
    w.s = vec4<u32>(unit_scale_word(r.x, u, 0u), unit_scale_word(r.y, u, 0u), unit_scale_word(r.z, u, 0u),
                    unit_scale_word(r.w, u, 0u));
    if (n_seg == 2u) {
      w.s1 = vec4<u32>(unit_scale_word(r.x, u, 1u), unit_scale_word(r.y, u, 1u), unit_scale_word(r.z, u, 1u),
                       unit_scale_word(r.w, u, 1u));
    }
  }
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

// x vec4 k of the unit at xb, or zero past the unit (k and unit_w constant: the branch folds).
fn x_at(xb: u32, k: u32) -> vec4<f32> {
  if (k < unit_w / 4u) { return x[xb + k]; }
  return vec4<f32>(0.0);
}

// The x of the unit whose first vec4 is xb, in registers.
fn unit_x(xb: u32) -> UnitX {
  return UnitX(x[xb], x_at(xb, 1u), x_at(xb, 2u), x_at(xb, 3u), x_at(xb, 4u), x_at(xb, 5u), x_at(xb, 6u),
               x_at(xb, 7u), x_at(xb, 8u), x_at(xb, 9u), x_at(xb, 10u), x_at(xb, 11u), x_at(xb, 12u),
               x_at(xb, 13u), x_at(xb, 14u), x_at(xb, 15u));
}

// Unit u of rows r (4 rows) dotted with its x (xs, word sums xsum): one lane per row.
fn unit_dot_x(w: Unit, r: vec4<u32>, u: u32, xs: UnitX, xsum: vec4<f32>) -> vec4<f32> {
  let s0 = word_scales(p.scale_base, p.cols, r.x, u);
  let s1 = word_scales(p.scale_base, p.cols, r.y, u);
  let s2 = word_scales(p.scale_base, p.cols, r.z, u);
  let s3 = word_scales(p.scale_base, p.cols, r.w, u);
  return vec4<f32>(dot(s0.d, word_dots(w.c0, w.h0, xs)) + dot(s0.m, xsum),
                   dot(s1.d, word_dots(w.c1, w.h1, xs)) + dot(s1.m, xsum),
                   dot(s2.d, word_dots(w.c2, w.h2, xs)) + dot(s2.m, xsum),
                   dot(s3.d, word_dots(w.c3, w.h3, xs)) + dot(s3.m, xsum));
}
