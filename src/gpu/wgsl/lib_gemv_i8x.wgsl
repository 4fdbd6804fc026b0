// gemv.wgsl's per-thread input where the device has packed 4x8 integer dot products: each
// thread's units of x quantized to int8 (one scale per 32 x, as wide as a unit or half of one), so a unit's dot with a row is a few
// dot4I8Packed on the codes' bytes plus masks, about 0.6 ops per 4-bit weight against the float
// decode's 4 (which made the product compute-bound below the memory bandwidth). The m term uses
// the exact f32 sums of x.
//
// x group i (4 int8 in a word) holds the codes the unit's words split into with one mask:
//   bits 8: codes 4i .. 4i+3 (a word's bytes);  bits 2, 3, 4: codes 8(i/2) + i%2 + {0, 2, 4, 6}
//   (bytes 0..3 of (nibble word) >> 4 (i%2) & 0x0F0F0F0F).
struct ThreadX {
  q: array<u32, 16>,  // x groups, int8 x 4 each (unit_w / 4 used)
  dx: vec2<f32>,      // x ~ q * dx: x 0..31 of the unit, then 32..63 (2 and 3 bits)
  sum: vec4<f32>,     // word sums of x (the m term)
  sum_all: f32,
}

// The four x of group i (i literal, so the array stays in registers), zero past the unit.
fn x_group(xs: UnitX, i: u32) -> vec4<f32> {
  if (i >= unit_w / 4u) { return vec4<f32>(0.0); }
  if (bits == 8u) { return xs[i]; }
  let a = xs[2u * (i / 2u)];
  let b = xs[2u * (i / 2u) + 1u];
  if (i % 2u == 0u) { return vec4<f32>(a.x, a.z, b.x, b.z); }
  return vec4<f32>(a.y, a.w, b.y, b.w);
}

fn amax_at(xs: UnitX, k: u32) -> vec4<f32> {
  if (k < unit_w / 4u) { return abs(xs[k]); }
  return vec4<f32>(0.0);
}

fn quant_group(xs: UnitX, i: u32, inv: f32) -> u32 { return pack4xI8(vec4<i32>(round(x_group(xs, i) * inv))); }

// max |x| over the unit's vec4s k0 .. k0 + 7.
fn half_amax(xs: UnitX, k0: u32) -> f32 {
  let m = max(max(max(amax_at(xs, k0), amax_at(xs, k0 + 1u)), max(amax_at(xs, k0 + 2u), amax_at(xs, k0 + 3u))),
              max(max(amax_at(xs, k0 + 4u), amax_at(xs, k0 + 5u)), max(amax_at(xs, k0 + 6u), amax_at(xs, k0 + 7u))));
  return max(max(m.x, m.y), max(m.z, m.w));
}

fn thread_input(xs: UnitX) -> ThreadX {
  let amax = vec2<f32>(half_amax(xs, 0u), half_amax(xs, 8u));
  let inv = select(vec2<f32>(0.0), 127.0 / amax, amax > vec2<f32>(0.0));
  var t: ThreadX;
  t.q = array<u32, 16>(quant_group(xs, 0u, inv.x), quant_group(xs, 1u, inv.x), quant_group(xs, 2u, inv.x),
                       quant_group(xs, 3u, inv.x), quant_group(xs, 4u, inv.x), quant_group(xs, 5u, inv.x),
                       quant_group(xs, 6u, inv.x), quant_group(xs, 7u, inv.x), quant_group(xs, 8u, inv.y),
                       quant_group(xs, 9u, inv.y), quant_group(xs, 10u, inv.y), quant_group(xs, 11u, inv.y),
                       quant_group(xs, 12u, inv.y), quant_group(xs, 13u, inv.y), quant_group(xs, 14u, inv.y),
                       quant_group(xs, 15u, inv.y));
  t.dx = amax / 127.0;
  t.sum = word_xsums(xs);
  t.sum_all = (t.sum.x + t.sum.y) + (t.sum.z + t.sum.w);
  return t;
}

const LOW_NIBBLES = 0x0F0F0F0Fu;
const LOW_CRUMBS = 0x03030303u;

// A nibble word (8 codes of <= 4 bits) dotted with x groups g (even nibbles) and g + 1 (odd).
fn dot_nibbles(n: u32, t: ThreadX, g: u32) -> i32 {
  return dot4I8Packed(n & LOW_NIBBLES, t.q[g]) + dot4I8Packed((n >> 4u) & LOW_NIBBLES, t.q[g + 1u]);
}

// Lane j: the integer dot of word j's codes with their x groups (j, i literal after unrolling).
fn word_idots(w: vec4<u32>, h: vec2<u32>, t: ThreadX) -> vec4<i32> {
  switch bits {
    case 2u: {
      return vec4<i32>(dot_crumbs(w.x, t, 0u), dot_crumbs(w.y, t, 4u), dot_crumbs(w.z, t, 8u), dot_crumbs(w.w, t, 12u));
    }
    case 3u: {  // lo word j: hi word j / 2, shifted as in word_dots
      return vec4<i32>(dot_nibbles(nibble3(w.x, h.x << 2u, 0u), t, 0u) + dot_nibbles(nibble3(w.x, h.x << 1u, 1u), t, 2u),
                       dot_nibbles(nibble3(w.y, h.x, 0u), t, 4u) + dot_nibbles(nibble3(w.y, h.x >> 1u, 1u), t, 6u),
                       dot_nibbles(nibble3(w.z, h.y << 2u, 0u), t, 8u) + dot_nibbles(nibble3(w.z, h.y << 1u, 1u), t, 10u),
                       dot_nibbles(nibble3(w.w, h.y, 0u), t, 12u) + dot_nibbles(nibble3(w.w, h.y >> 1u, 1u), t, 14u));
    }
    case 4u: {
      return vec4<i32>(dot_nibbles(w.x, t, 0u), dot_nibbles(w.y, t, 2u), dot_nibbles(w.z, t, 4u), dot_nibbles(w.w, t, 6u));
    }
    default: {  // 8: unsigned codes as signed bytes (q - 128); the 128 goes into the m term
      let s = vec4<u32>(0x80808080u);
      let v = w ^ s;
      return vec4<i32>(dot4I8Packed(v.x, t.q[0]), dot4I8Packed(v.y, t.q[1]), dot4I8Packed(v.z, t.q[2]),
                       dot4I8Packed(v.w, t.q[3]));
    }
  }
}

// 2-bit word of codes 16j + 8s + k (bits 4k + 2s): groups g .. g + 3.
fn dot_crumbs(w: u32, t: ThreadX, g: u32) -> i32 {
  return (dot4I8Packed(w & LOW_CRUMBS, t.q[g]) + dot4I8Packed((w >> 4u) & LOW_CRUMBS, t.q[g + 1u])) +
         (dot4I8Packed((w >> 2u) & LOW_CRUMBS, t.q[g + 2u]) + dot4I8Packed((w >> 6u) & LOW_CRUMBS, t.q[g + 3u]));
}

override code_offset: f32 = select(0.0, 128.0, bits == 8u);  // word_idots' bytes are code - code_offset

// One row's unit dotted with the thread's x.
// sw, sw1: the (d, m) words of its first and second segment where early_scale() (lib_matmul_io).
fn row_unit_dot(c: vec4<u32>, h: vec2<u32>, sw: u32, sw1: u32, row: u32, u: u32, t: ThreadX) -> f32 {
  let id = word_idots(c, h, t);
  if (n_seg == 1u) {  // one weight scale for the unit: sum the integers of each x scale first
    var s = unpack2x16float(sw);
    if (!early_scale()) { s = segment_scale(p.scale_base, p.cols, row, u, 0u); }
    var xd = f32((id.x + id.y) + (id.z + id.w)) * t.dx.x;
    if (unit_w == 64u) { xd = f32(id.x + id.y) * t.dx.x + f32(id.z + id.w) * t.dx.y; }
    return s.x * xd + (s.y + code_offset * s.x) * t.sum_all;
  }
  var s: WordScales;
  if (early_scale()) {  // n_seg 2: words 0, 1 in the first segment, 2, 3 in the second
    let a = unpack2x16float(sw);
    let b = unpack2x16float(sw1);
    s = WordScales(vec4<f32>(a.x, a.x, b.x, b.x), vec4<f32>(a.y, a.y, b.y, b.y));
  } else {
    s = word_scales(p.scale_base, p.cols, row, u);
  }
  let dx = select(vec4<f32>(t.dx.x), vec4<f32>(t.dx.xx, t.dx.yy), unit_w == 64u);  // words 0, 1: x 0..31
  return dot(s.d, vec4<f32>(id) * dx) + dot(s.m + code_offset * s.d, t.sum);
}

// Unit u of rows r (4 rows) dotted with the thread's x: one lane per row.
fn thread_unit_dot(w: Unit, r: vec4<u32>, u: u32, t: ThreadX) -> vec4<f32> {
  return vec4<f32>(row_unit_dot(w.c0, w.h0, w.s.x, w.s1.x, r.x, u, t), row_unit_dot(w.c1, w.h1, w.s.y, w.s1.y, r.y, u, t),
                   row_unit_dot(w.c2, w.h2, w.s.z, w.s1.z, r.z, u, t), row_unit_dot(w.c3, w.h3, w.s.w, w.s1.w, r.w, u, t));
}
