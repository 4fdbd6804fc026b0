// Shared by matmul.wgsl and embed.wgsl (prepended by the C++, never a pipeline of its own): the
// GPU weight layout's "units" (gpu/weight_layout.h) decoded into f32 codes, four at a time.
//
// A unit is one 16-byte load of a row's codes (vec4<u32>) and covers UW weights:
//   bits 2: 64 (word j, bits 4k+2s..+1 = code 16j+8s+k)    bits 4: 32 (word j, nibble k = code 8j+k)
//   bits 3: 64 (the 2-bit layout for the low two bits + a vec2<u32> from the high-bit plane whose
//               word h, bit 4k+e = bit 2 of code 32h+8e+k)
//   bits 8: 16 (word j, byte k = code 4j+k)                 bits 16: 8 (f16 pairs)   bits 32: 4 (f32)
// The including kernel declares `scales: array<u32>` (per-group (d, m) f16 pairs; f16 d pairs
// when symmetric; a vec4<u32> per 192 weights for WK).
override bits: u32 = 4;
override group: u32 = 32;          // weights per scale: WQ 32/64/128, WK 16 (sub-block)
override symmetric: bool = false;  // Q4_0/Q8_0: one f16 d per group, m = -2^(bits-1) d
override superblock: bool = false; // WK: [d, dmin][12 bytes of 4-bit scale | min << 4] per 192

// Weights per unit, and scale segments (a group, a WK sub-block, or the whole unit) per unit:
// override expressions, so loops over them have constant trip counts the driver unrolls.
override unit_w: u32 = select(select(select(select(4u, 8u, bits == 16u), 16u, bits == 8u), 32u, bits == 4u), 64u,
                              bits <= 3u);
override n_seg: u32 = select(max(unit_w / max(group, 1u), 1u), 1u, bits > 8u);
override seg_vecs: u32 = unit_w / 4u / n_seg;  // vec4s of weights per segment

fn unit_weights() -> u32 { return unit_w; }

// Fields decoded four at a time without int->float conversions (a quarter-rate instruction on
// NVIDIA): lane i holds its field at bit p_i (p_i + width <= 23); (v & M) | E with E = the bits of
// 2^(23-p_i) is the f32 2^(23-p_i) + q, and subtracting E as f32 leaves q exactly. Masks and
// exponents are module constants, so no shift or mask is computed at run time.
fn fields(v: vec4<u32>, m: vec4<u32>, e: vec4<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>((v & m) | e) - bitcast<vec4<f32>>(e);
}

const E_BASE = vec4<u32>(150u);  // 127 + 23
const NIB_LO_P = vec4<u32>(0u, 4u, 8u, 12u);    // nibbles 0..3 of w
const NIB_HI_P = vec4<u32>(16u, 8u, 12u, 16u);  // nibble 4 of w, 5..7 of w >> 12
const CR00_P = vec4<u32>(0u, 4u, 8u, 12u);      // 2-bit fields s = 0, k = 0..3 of w
const CR01_P = vec4<u32>(16u, 20u, 12u, 16u);   // s = 0, k = 4..7: w, w, w >> 12, w >> 12
const CR10_P = vec4<u32>(2u, 6u, 10u, 14u);     // s = 1, k = 0..3 of w
const CR11_P = vec4<u32>(18u, 10u, 14u, 18u);   // s = 1, k = 4..7: w, then w >> 12
const BYTE_P = vec4<u32>(0u, 8u, 0u, 8u);       // bytes 0, 1 of w, 2, 3 of w >> 16
const NIB_LO_M = vec4<u32>(15u) << NIB_LO_P;
const NIB_HI_M = vec4<u32>(15u) << NIB_HI_P;
const CR00_M = vec4<u32>(3u) << CR00_P;
const CR01_M = vec4<u32>(3u) << CR01_P;
const CR10_M = vec4<u32>(3u) << CR10_P;
const CR11_M = vec4<u32>(3u) << CR11_P;
const BYTE_M = vec4<u32>(255u) << BYTE_P;
const NIB_LO_E = (E_BASE - NIB_LO_P) << vec4<u32>(23u);
const NIB_HI_E = (E_BASE - NIB_HI_P) << vec4<u32>(23u);
const CR00_E = (E_BASE - CR00_P) << vec4<u32>(23u);
const CR01_E = (E_BASE - CR01_P) << vec4<u32>(23u);
const CR10_E = (E_BASE - CR10_P) << vec4<u32>(23u);
const CR11_E = (E_BASE - CR11_P) << vec4<u32>(23u);
const BYTE_E = (E_BASE - BYTE_P) << vec4<u32>(23u);

fn nib_lo(w: u32) -> vec4<f32> { return fields(vec4<u32>(w), NIB_LO_M, NIB_LO_E); }
fn nib_hi(w: u32) -> vec4<f32> {
  let h = w >> 12u;
  return fields(vec4<u32>(w, h, h, h), NIB_HI_M, NIB_HI_E);
}
// 2-bit codes 8s + 4half .. +3 of w (fields at bits 4k + 2s).
fn cr00(w: u32) -> vec4<f32> { return fields(vec4<u32>(w), CR00_M, CR00_E); }
fn cr01(w: u32) -> vec4<f32> {
  let h = w >> 12u;
  return fields(vec4<u32>(w, w, h, h), CR01_M, CR01_E);
}
fn cr10(w: u32) -> vec4<f32> { return fields(vec4<u32>(w), CR10_M, CR10_E); }
fn cr11(w: u32) -> vec4<f32> {
  let h = w >> 12u;
  return fields(vec4<u32>(w, h, h, h), CR11_M, CR11_E);
}
fn bytes4(w: u32) -> vec4<f32> {
  let h = w >> 16u;
  return fields(vec4<u32>(w, w, h, h), BYTE_M, BYTE_E);
}

// 3-bit: a nibble word of codes 8s+k of lo word j: low bits from the lo word (bits 4k+2s), the
// high bit from `hb`, the hi word already shifted so that bit 4k+e sits at bit 4k+2.
fn nibble3(lo: u32, hb: u32, s: u32) -> u32 {
  return ((lo >> (2u * s)) & 0x33333333u) | (hb & 0x44444444u);
}
// The hi word shifted for e = 0..3 (bit 4k+e to bit 4k+2).
fn hi_shift(hi: u32, e: u32) -> u32 {
  switch e {
    case 0u: { return hi << 2u; }
    case 1u: { return hi << 1u; }
    case 2u: { return hi; }
    default: { return hi >> 1u; }
  }
}

// Codes 4i .. 4i+3 of a unit (i < unit_w / 4), as f32 (f32/f16: the weights themselves).
fn unit_codes(cw: vec4<u32>, hw: vec2<u32>, i: u32) -> vec4<f32> {
  switch bits {
    case 2u: {
      let w = cw[i / 4u];
      switch i % 4u {
        case 0u: { return cr00(w); }
        case 1u: { return cr01(w); }
        case 2u: { return cr10(w); }
        default: { return cr11(w); }
      }
    }
    case 3u: {
      let j = i / 4u;
      let s = (i / 2u) % 2u;
      let n = nibble3(cw[j], hi_shift(hw[j / 2u], 2u * (j % 2u) + s), s);
      return select(nib_hi(n), nib_lo(n), i % 2u == 0u);
    }
    case 4u: { return select(nib_hi(cw[i / 2u]), nib_lo(cw[i / 2u]), i % 2u == 0u); }
    case 8u: { return bytes4(cw[i]); }
    case 16u: { return vec4<f32>(unpack2x16float(cw[2u * i]), unpack2x16float(cw[2u * i + 1u])); }
    default: { return bitcast<vec4<f32>>(cw); }
  }
}

// The x vec4s of one unit (xs[k] = x[xb + k]), passed by value and indexed by literals only.
alias UnitX = array<vec4<f32>, 16>;

fn hsum(v: vec4<f32>) -> f32 { return v.x + v.y + v.z + v.w; }

// Per-word dots: all arguments values, all positions constants.
fn dot_nib(w: u32, xa: vec4<f32>, xb: vec4<f32>) -> f32 { return dot(nib_lo(w), xa) + dot(nib_hi(w), xb); }
fn dot_cr(w: u32, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> f32 {
  return dot(cr00(w), x0) + dot(cr01(w), x1) + dot(cr10(w), x2) + dot(cr11(w), x3);
}
// 3-bit lo word with its hi word shifted for s = 0 (h0) and s = 1 (h1).
fn dot_b3(lo: u32, h0: u32, h1: u32, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> f32 {
  return dot_nib(nibble3(lo, h0, 0u), x0, x1) + dot_nib(nibble3(lo, h1, 1u), x2, x3);
}

// Lane j: the dot of word j's weights with their x (f16: words 2j, 2j+1 share lane j; f32: lane 0).
fn word_dots(w: vec4<u32>, h: vec2<u32>, xs: UnitX) -> vec4<f32> {
  switch bits {
    case 2u: {
      return vec4<f32>(dot_cr(w.x, xs[0], xs[1], xs[2], xs[3]), dot_cr(w.y, xs[4], xs[5], xs[6], xs[7]),
                       dot_cr(w.z, xs[8], xs[9], xs[10], xs[11]), dot_cr(w.w, xs[12], xs[13], xs[14], xs[15]));
    }
    case 3u: {  // lo word j: hi word j / 2, e = 2 (j % 2) + s
      return vec4<f32>(dot_b3(w.x, h.x << 2u, h.x << 1u, xs[0], xs[1], xs[2], xs[3]),
                       dot_b3(w.y, h.x, h.x >> 1u, xs[4], xs[5], xs[6], xs[7]),
                       dot_b3(w.z, h.y << 2u, h.y << 1u, xs[8], xs[9], xs[10], xs[11]),
                       dot_b3(w.w, h.y, h.y >> 1u, xs[12], xs[13], xs[14], xs[15]));
    }
    case 4u: {
      return vec4<f32>(dot_nib(w.x, xs[0], xs[1]), dot_nib(w.y, xs[2], xs[3]), dot_nib(w.z, xs[4], xs[5]),
                       dot_nib(w.w, xs[6], xs[7]));
    }
    case 8u: {
      return vec4<f32>(dot(bytes4(w.x), xs[0]), dot(bytes4(w.y), xs[1]), dot(bytes4(w.z), xs[2]), dot(bytes4(w.w), xs[3]));
    }
    case 16u: {
      return vec4<f32>(dot(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), xs[0]),
                       dot(vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)), xs[1]), 0.0, 0.0);
    }
    default: { return vec4<f32>(dot(bitcast<vec4<f32>>(w), xs[0]), 0.0, 0.0, 0.0); }
  }
}

// Lane j: the sum of word j's x (the m term); zero for float formats.
fn word_xsums(xs: UnitX) -> vec4<f32> {
  switch bits {
    case 2u, 3u: {
      return vec4<f32>(hsum(xs[0] + xs[1] + xs[2] + xs[3]), hsum(xs[4] + xs[5] + xs[6] + xs[7]),
                       hsum(xs[8] + xs[9] + xs[10] + xs[11]), hsum(xs[12] + xs[13] + xs[14] + xs[15]));
    }
    case 4u: { return vec4<f32>(hsum(xs[0] + xs[1]), hsum(xs[2] + xs[3]), hsum(xs[4] + xs[5]), hsum(xs[6] + xs[7])); }
    case 8u: { return vec4<f32>(hsum(xs[0]), hsum(xs[1]), hsum(xs[2]), hsum(xs[3])); }
    default: { return vec4<f32>(0.0); }
  }
}

fn quantized() -> bool { return bits <= 8u; }

// (d, m) of segment sg of unit u of row `row`: value = q * d + m.
fn segment_scale(scale_base: u32, cols: u32, row: u32, u: u32, sg: u32) -> vec2<f32> {
  if (!quantized()) { return vec2<f32>(1.0, 0.0); }
  let first = u * unit_weights();
  if (superblock) {
    let sb = scale_base + row * (cols / 192u) + first / 192u;
    let k = (first % 192u) / 16u + sg;  // sub-block in the super-block
    let dd = unpack2x16float(scales[4u * sb]);
    let byte = (scales[4u * sb + 1u + k / 4u] >> (8u * (k % 4u))) & 0xFFu;
    return vec2<f32>(dd.x * f32(byte & 15u), -dd.y * f32(byte >> 4u));
  }
  let g = row * (cols / group) + first / group + sg;
  if (symmetric) {
    let h = scale_base + g;
    let d = unpack2x16float(scales[h / 2u])[h % 2u];
    return vec2<f32>(d, -f32(1u << (bits - 1u)) * d);
  }
  return unpack2x16float(scales[scale_base + g]);
}

struct WordScales {
  d: vec4<f32>,  // lane j: d of word j's segment
  m: vec4<f32>,
}

// The scales of the four words of unit u of a row: segment k covers words 4k/n .. 4(k+1)/n - 1.
fn word_scales(scale_base: u32, cols: u32, row: u32, u: u32) -> WordScales {
  if (!quantized()) { return WordScales(vec4<f32>(1.0), vec4<f32>(0.0)); }
  let a = segment_scale(scale_base, cols, row, u, 0u);
  if (n_seg == 1u) { return WordScales(vec4<f32>(a.x), vec4<f32>(a.y)); }
  let b = segment_scale(scale_base, cols, row, u, 1u);
  if (n_seg == 2u) { return WordScales(vec4<f32>(a.x, a.x, b.x, b.x), vec4<f32>(a.y, a.y, b.y, b.y)); }
  let c = segment_scale(scale_base, cols, row, u, 2u);
  let d = segment_scale(scale_base, cols, row, u, 3u);
  return WordScales(vec4<f32>(a.x, b.x, c.x, d.x), vec4<f32>(a.y, b.y, c.y, d.y));
}
