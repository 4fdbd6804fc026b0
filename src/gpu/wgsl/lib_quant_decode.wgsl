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

// The field of w at bit p (p + width <= 23) as an exact f32, without an int->float conversion
// (a quarter-rate instruction on NVIDIA): 2^(23-p) + q is built by bits, then 2^(23-p) taken off.
fn field(w: u32, p: u32, mask: u32) -> f32 {
  let e = (150u - p) << 23u;
  return bitcast<f32>((w & (mask << p)) | e) - bitcast<f32>(e);
}

// Nibbles 0..3 (half 0) or 4..7 (half 1) of w; nibbles 5..7 come from w >> 12 (p + 4 <= 23).
fn nibbles(w: u32, half: u32) -> vec4<f32> {
  if (half == 0u) {
    return vec4<f32>(field(w, 0u, 15u), field(w, 4u, 15u), field(w, 8u, 15u), field(w, 12u, 15u));
  }
  let h = w >> 12u;
  return vec4<f32>(field(w, 16u, 15u), field(h, 8u, 15u), field(h, 12u, 15u), field(h, 16u, 15u));
}

// 2-bit codes 8s+4half .. +3 of w: fields at bits 4k+2s, k = 4half .. 4half+3.
fn crumbs(w: u32, s: u32, half: u32) -> vec4<f32> {
  let b = 2u * s;
  if (half == 0u) {
    return vec4<f32>(field(w, b, 3u), field(w, b + 4u, 3u), field(w, b + 8u, 3u), field(w, b + 12u, 3u));
  }
  let h = w >> 12u;
  return vec4<f32>(field(w, b + 16u, 3u), select(field(h, b + 8u, 3u), field(w, b + 20u, 3u), s == 0u),
                   field(h, b + 12u, 3u), field(h, b + 16u, 3u));
}

// 3-bit: the low bits of codes 8s+k of lo word j at nibble k bits 0..1, the high bit (hi word
// j/2, e = 2(j%2)+s, bit 4k+e) moved to nibble bit 2.
fn nibble3(lo: u32, hi: u32, s: u32, e: u32) -> u32 {
  var hb = hi;
  switch e {
    case 0u: { hb = hi << 2u; }
    case 1u: { hb = hi << 1u; }
    case 3u: { hb = hi >> 1u; }
    default: {}
  }
  return ((lo >> (2u * s)) & 0x33333333u) | (hb & 0x44444444u);
}

// Codes 4i .. 4i+3 of a unit (i < unit_w / 4), as f32 (f32/f16: the weights themselves). Call
// with a literal i: every shift and mask then folds to a constant.
fn unit_codes(cw: vec4<u32>, hw: vec2<u32>, i: u32) -> vec4<f32> {
  switch bits {
    case 2u: { return crumbs(cw[i / 4u], (i / 2u) % 2u, i % 2u); }
    case 3u: {
      let j = i / 4u;
      let s = (i / 2u) % 2u;
      return nibbles(nibble3(cw[j], hw[j / 2u], s, 2u * (j % 2u) + s), i % 2u);
    }
    case 4u: { return nibbles(cw[i / 2u], i % 2u); }
    case 8u: {
      let w = cw[i];
      let h = w >> 16u;
      return vec4<f32>(field(w, 0u, 255u), field(w, 8u, 255u), field(h, 0u, 255u), field(h, 8u, 255u));
    }
    case 16u: { return vec4<f32>(unpack2x16float(cw[2u * i]), unpack2x16float(cw[2u * i + 1u])); }
    default: { return bitcast<vec4<f32>>(cw); }
  }
}

// The x vec4s of one unit, loaded by literal index (kept in registers): xs[k] = x[xb + k].
alias UnitX = array<vec4<f32>, 16>;

fn dot4(w: vec4<u32>, h: vec2<u32>, xs: ptr<function, UnitX>, i: u32) -> f32 {
  return dot(unit_codes(w, h, i), (*xs)[i]);
}

fn hsum(v: vec4<f32>) -> f32 { return v.x + v.y + v.z + v.w; }

// Lane j: the dot of word j's weights with their x (f16: words 2j, 2j+1 share lane j; f32: lane 0).
fn word_dots(w: vec4<u32>, h: vec2<u32>, xs: ptr<function, UnitX>) -> vec4<f32> {
  switch bits {
    case 2u, 3u: {
      return vec4<f32>(dot4(w, h, xs, 0u) + dot4(w, h, xs, 1u) + dot4(w, h, xs, 2u) + dot4(w, h, xs, 3u),
                       dot4(w, h, xs, 4u) + dot4(w, h, xs, 5u) + dot4(w, h, xs, 6u) + dot4(w, h, xs, 7u),
                       dot4(w, h, xs, 8u) + dot4(w, h, xs, 9u) + dot4(w, h, xs, 10u) + dot4(w, h, xs, 11u),
                       dot4(w, h, xs, 12u) + dot4(w, h, xs, 13u) + dot4(w, h, xs, 14u) + dot4(w, h, xs, 15u));
    }
    case 4u: {
      return vec4<f32>(dot4(w, h, xs, 0u) + dot4(w, h, xs, 1u), dot4(w, h, xs, 2u) + dot4(w, h, xs, 3u),
                       dot4(w, h, xs, 4u) + dot4(w, h, xs, 5u), dot4(w, h, xs, 6u) + dot4(w, h, xs, 7u));
    }
    case 8u: { return vec4<f32>(dot4(w, h, xs, 0u), dot4(w, h, xs, 1u), dot4(w, h, xs, 2u), dot4(w, h, xs, 3u)); }
    case 16u: { return vec4<f32>(dot4(w, h, xs, 0u), dot4(w, h, xs, 1u), 0.0, 0.0); }
    default: { return vec4<f32>(dot4(w, h, xs, 0u), 0.0, 0.0, 0.0); }
  }
}

// Lane j: the sum of word j's x (the m term); zero for float formats.
fn word_xsums(xs: ptr<function, UnitX>) -> vec4<f32> {
  switch bits {
    case 2u, 3u: {
      return vec4<f32>(hsum((*xs)[0] + (*xs)[1] + (*xs)[2] + (*xs)[3]), hsum((*xs)[4] + (*xs)[5] + (*xs)[6] + (*xs)[7]),
                       hsum((*xs)[8] + (*xs)[9] + (*xs)[10] + (*xs)[11]),
                       hsum((*xs)[12] + (*xs)[13] + (*xs)[14] + (*xs)[15]));
    }
    case 4u: {
      return vec4<f32>(hsum((*xs)[0] + (*xs)[1]), hsum((*xs)[2] + (*xs)[3]), hsum((*xs)[4] + (*xs)[5]),
                       hsum((*xs)[6] + (*xs)[7]));
    }
    case 8u: { return vec4<f32>(hsum((*xs)[0]), hsum((*xs)[1]), hsum((*xs)[2]), hsum((*xs)[3])); }
    default: { return vec4<f32>(0.0); }
  }
}

fn quantized() -> bool { return bits <= 8u; }

fn segments() -> u32 { return n_seg; }

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
