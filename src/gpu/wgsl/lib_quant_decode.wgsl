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

const UNIT_WORDS = 4u;

fn unit_weights() -> u32 {
  switch bits {
    case 2u, 3u: { return 64u; }
    case 4u: { return 32u; }
    case 8u: { return 16u; }
    case 16u: { return 8u; }
    default: { return 4u; }
  }
}

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

// Codes 4i .. 4i+3 of a unit (i < unit_weights() / 4), as f32 (f32/f16: the weights themselves).
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

fn quantized() -> bool { return bits <= 8u; }

// Scale segments per unit: a segment is one group or WK sub-block, or the whole unit.
fn segments() -> u32 {
  if (!quantized()) { return 1u; }
  return max(unit_weights() / group, 1u);
}

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
