// Block-quantized dot products for the wasm relaxed-SIMD build. Not in Highway: 1.0.3 has no int8
// dot product op and no relaxed-SIMD target, so this file uses wasm intrinsics directly.
// Weight codes go in as the 7-bit operand of i32x4.relaxed_dot_i8x16_i7x16_add_s (Q4 nibbles and
// WQ 2/3/4-bit codes fit; Q8_0 and WQ8 bytes are split into their low 7 bits and their top bit),
// int8 activations as the other, so every integer block sum is exact and the same on every engine.
#include "cpu/wasm_relaxed_kernels.h"

#if defined(__wasm_relaxed_simd__)
#include <cstring>
#include <utility>
#include <vector>

#include "cpu/wasm_relaxed_ops.h"

namespace webaccel::cpu::wasm_relaxed {
namespace {

constexpr size_t kTokenTile = 4;  // tokens sharing one unpacked weight block
constexpr size_t kGroup = 4;      // blocks per step: their scales fill one f32x4

// Four fp16 values (low 16 bits of each i32 lane) to f32, exact for every finite half (block
// scales are finite): the half's bits shifted into float position, rescaled by 2^(127-15).
inline v128_t HalvesToFloats(v128_t h) {
  const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
  const v128_t magnitude = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
  return wasm_v128_or(wasm_f32x4_mul(magnitude, wasm_f32x4_splat(0x1p112f)), sign);
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 4-byte heads (fp16 scale, and min or sum) of blocks b0..b0+g-1 (g <= 4), one per lane,
// zeros past g; head(b) gives a block's address.
template <class HeadFn>
inline v128_t LoadHeads(HeadFn head, size_t b0, size_t g) {
  if (g == kGroup) {  // lane inserts: a store-then-load of the four would stall on store forwarding
    return wasm_i32x4_make(Load32(head(b0)), Load32(head(b0 + 1)), Load32(head(b0 + 2)), Load32(head(b0 + 3)));
  }
  uint32_t heads[kGroup] = {};
  for (size_t j = 0; j < g; ++j) heads[j] = Load32(head(b0 + j));
  return wasm_v128_load(heads);
}

inline float HorizontalSum(v128_t v) {
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

// Per-format pieces. Block layouts are those of format/ggml_types.h and cpu/wq_reference.h:
// Head(row, b) is where the fp16 scale (and, for Q4_1 and WQ, the fp16 min above it) of 32-weight
// block b lives, Dot its integer sums with one token's 32 activations.
// Codes 0..15 of a block in lo and 16..31 in hi, each below 128, against activations a0 and a1.
inline v128_t DotCodes(v128_t lo, v128_t hi, v128_t a0, v128_t a1) {
  return dot_i8_i7_add(a1, hi, dot_i8_i7_add(a0, lo, wasm_i32x4_splat(0)));
}

// The same for codes below 16: each 16-bit lane of the two halves' sums holds 4 products of at
// most 128 * 15, so they are added before one widening (one pmaddwd where DotCodes needs two).
inline v128_t DotSmallCodes(v128_t lo, v128_t hi, v128_t a0, v128_t a1) {
  return wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_add(dot_i8_i7_i16(a0, lo), dot_i8_i7_i16(a1, hi)));
}

// 16 bytes of nibble codes (0..15): low nibbles pair with a0 (elements 0..15), high with a1.
inline v128_t DotNibbles(const uint8_t* codes, v128_t a0, v128_t a1) {
  const v128_t q = wasm_v128_load(codes);
  return DotSmallCodes(wasm_v128_and(q, wasm_i8x16_splat(0x0f)), wasm_u8x16_shr(q, 4), a0, a1);
}

// 32 byte codes (a0's 16, then a1's): their low 7 bits, and their top bit (worth -128 when the
// bytes are signed, +128 when unsigned), as two exact 7-bit dot products.
template <bool kSigned>
inline v128_t DotBytes(const uint8_t* codes, v128_t a0, v128_t a1) {
  const v128_t w0 = wasm_v128_load(codes), w1 = wasm_v128_load(codes + 16), low7 = wasm_i8x16_splat(0x7f);
  const v128_t low = DotCodes(wasm_v128_and(w0, low7), wasm_v128_and(w1, low7), a0, a1);
  const v128_t top = wasm_i32x4_shl(DotSmallCodes(wasm_u8x16_shr(w0, 7), wasm_u8x16_shr(w1, 7), a0, a1), 7);
  return kSigned ? wasm_i32x4_sub(low, top) : wasm_i32x4_add(low, top);
}

template <class Block>
struct FixedBlocks {  // GGML blocks: one head per 32 weights, blocks back to back
  static const uint8_t* Head(const uint8_t* row, size_t b) { return row + b * sizeof(Block); }
};

struct Q4_1Format : FixedBlocks<BlockQ4_1> {  // value = q*d + m, activations Q8_1 (d, s = d*sum(q), qs)
  static constexpr size_t kActBytes = sizeof(BlockQ8_1), kActCodesAt = 4;
  static constexpr bool kHasMin = true, kHasOffset = false;
  v128_t Dot(const uint8_t* row, size_t b, v128_t a0, v128_t a1) const { return DotNibbles(Head(row, b) + 4, a0, a1); }
};

struct Q4_0Format : FixedBlocks<BlockQ4_0> {  // value = (q - 8)*d, activations Q8_0; 8*sum(a) taken off per lane
  static constexpr size_t kActBytes = sizeof(BlockQ8_0), kActCodesAt = 2;
  static constexpr bool kHasMin = false, kHasOffset = true;
  v128_t Dot(const uint8_t* row, size_t b, v128_t a0, v128_t a1) const { return DotNibbles(Head(row, b) + 2, a0, a1); }
};

struct Q8_0Format : FixedBlocks<BlockQ8_0> {  // value = q*d, q signed
  static constexpr size_t kActBytes = sizeof(BlockQ8_0), kActCodesAt = 2;
  static constexpr bool kHasMin = false, kHasOffset = false;
  v128_t Dot(const uint8_t* row, size_t b, v128_t a0, v128_t a1) const { return DotBytes<true>(Head(row, b) + 2, a0, a1); }
};

// WQ (cpu/wq_reference.h): value = q*d + m per group of 32 << group_shift weights, [d][m][chunks];
// activations Q8_1 like Q4_1.
template <int kBits>
struct WqFormat {
  static constexpr size_t kActBytes = sizeof(BlockQ8_1), kActCodesAt = 4, kChunkBytes = 4 * kBits;
  static constexpr bool kHasMin = true, kHasOffset = false;
  size_t group_shift = 0, group_bytes = 0;

  const uint8_t* Head(const uint8_t* row, size_t b) const { return row + (b >> group_shift) * group_bytes; }
  v128_t Dot(const uint8_t* row, size_t b, v128_t a0, v128_t a1) const {
    const uint8_t* codes = Head(row, b) + 4 + (b & ((size_t{1} << group_shift) - 1)) * kChunkBytes;
    if constexpr (kBits == 4) return DotNibbles(codes, a0, a1);
    if constexpr (kBits == 8) return DotBytes<false>(codes, a0, a1);
    // 2-bit planes: byte j holds codes j, j+8, j+16, j+24 in bits 0-1, 2-3, 4-5, 6-7.
    const v128_t x = wasm_v128_load64_splat(codes), three = wasm_i8x16_splat(3);
    const v128_t p0 = wasm_v128_and(x, three), p1 = wasm_v128_and(wasm_u8x16_shr(x, 2), three);
    const v128_t p2 = wasm_v128_and(wasm_u8x16_shr(x, 4), three), p3 = wasm_u8x16_shr(x, 6);
    v128_t lo = wasm_i8x16_shuffle(p0, p1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    v128_t hi = wasm_i8x16_shuffle(p2, p3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    if constexpr (kBits == 3) {  // bit i of the next 32-bit word is bit 2 of code i
      const v128_t word = wasm_i32x4_splat(static_cast<int32_t>(Load32(codes + 8)));
      const v128_t bit = wasm_i64x2_splat(static_cast<int64_t>(0x8040201008040201ULL)), four = wasm_i8x16_splat(4);
      auto high = [&](v128_t spread) { return wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(spread, bit), bit), four); };
      lo = wasm_v128_or(lo, high(wasm_i8x16_swizzle(word, wasm_i8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1))));
      hi = wasm_v128_or(hi, high(wasm_i8x16_swizzle(word, wasm_i8x16_make(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3))));
    }
    return DotSmallCodes(lo, hi, a0, a1);
  }
};

// What each token's activation row contributes, computed once per call for every row:
// block scales d (and s for Q8_1) padded to whole groups, and Q4_0's 8*sum(a) per lane.
struct ActivationSide {
  std::vector<float> d, s;
  std::vector<v128_t> offset;
};

template <class F>
void PrepareActivations(const uint8_t* const* y, size_t nt, size_t nb, ActivationSide& side) {
  const size_t padded = (nb + kGroup - 1) / kGroup * kGroup;
  side.d.resize(nt * padded);
  if constexpr (F::kHasMin) side.s.resize(nt * padded);
  if constexpr (F::kHasOffset) side.offset.resize(nt * nb);
  for (size_t k = 0; k < nt; ++k) {
    for (size_t b0 = 0; b0 < nb; b0 += kGroup) {  // scales four blocks at a time, zeros past the last
      auto head = [&](size_t b) { return y[k] + b * F::kActBytes; };
      const v128_t packed = LoadHeads(head, b0, nb - b0 < kGroup ? nb - b0 : kGroup);
      wasm_v128_store(&side.d[k * padded + b0], HalvesToFloats(packed));
      if constexpr (F::kHasMin) wasm_v128_store(&side.s[k * padded + b0], HalvesToFloats(wasm_u32x4_shr(packed, 16)));
    }
    if constexpr (F::kHasOffset) {
      const v128_t eights = wasm_i8x16_splat(8);
      for (size_t b = 0; b < nb; ++b) {
        const uint8_t* a = y[k] + b * F::kActBytes + F::kActCodesAt;
        side.offset[k * nb + b] =
            dot_i8_i7_add(wasm_v128_load(a + 16), eights, dot_i8_i7_add(wasm_v128_load(a), eights, wasm_i32x4_splat(0)));
      }
    }
  }
}

// NT tokens (a template argument so the token loops unroll) against n_rows weight rows.
template <class F, size_t NT>
void TokenTile(const F& f, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* const* y, size_t nb,
               float* out, size_t out_stride) {
  thread_local ActivationSide side;
  PrepareActivations<F>(y, NT, nb, side);
  const size_t padded = (nb + kGroup - 1) / kGroup * kGroup;
  for (size_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    v128_t acc[NT];
    for (size_t k = 0; k < NT; ++k) acc[k] = wasm_f32x4_splat(0.0f);
    for (size_t b0 = 0; b0 < nb; b0 += kGroup) {
      const size_t g = nb - b0 < kGroup ? nb - b0 : kGroup;
      const v128_t packed = LoadHeads([&](size_t b) { return f.Head(row, b); }, b0, g);
      const v128_t wd = HalvesToFloats(packed);
      v128_t scale[NT];
      for (size_t k = 0; k < NT; ++k) {
        scale[k] = wasm_f32x4_mul(wd, wasm_v128_load(&side.d[k * padded + b0]));
        if constexpr (F::kHasMin) {
          acc[k] = madd(HalvesToFloats(wasm_u32x4_shr(packed, 16)), wasm_v128_load(&side.s[k * padded + b0]), acc[k]);
        }
      }
      // Block j of the group: its integer sums times lane j of each token's scales.
      auto block = [&]<int J>(std::integral_constant<int, J>) {
        if (static_cast<size_t>(J) >= g) return;
        const size_t b = b0 + J;
        for (size_t k = 0; k < NT; ++k) {
          const uint8_t* a = y[k] + b * F::kActBytes + F::kActCodesAt;
          v128_t s = f.Dot(row, b, wasm_v128_load(a), wasm_v128_load(a + 16));
          if constexpr (F::kHasOffset) s = wasm_i32x4_sub(s, side.offset[k * nb + b]);
          acc[k] = madd(wasm_f32x4_convert_i32x4(s), wasm_i32x4_shuffle(scale[k], scale[k], J, J, J, J), acc[k]);
        }
      };
      [&]<int... J>(std::integer_sequence<int, J...>) { (block(std::integral_constant<int, J>{}), ...); }(
          std::make_integer_sequence<int, kGroup>{});
    }
    for (size_t k = 0; k < NT; ++k) out[k * out_stride + r] = HorizontalSum(acc[k]);
  }
}

template <class F>
void TokenTiles(const F& f, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act, size_t act_stride,
                size_t n_tokens, size_t nb, float* out, size_t out_stride) {
  for (size_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
    const size_t nt = n_tokens - t0 < kTokenTile ? n_tokens - t0 : kTokenTile;
    const uint8_t* y[kTokenTile];
    for (size_t k = 0; k < nt; ++k) y[k] = act + (t0 + k) * act_stride;
    float* o = out + t0 * out_stride;
    switch (nt) {
      case 1: TokenTile<F, 1>(f, w, row_bytes, n_rows, y, nb, o, out_stride); break;
      case 2: TokenTile<F, 2>(f, w, row_bytes, n_rows, y, nb, o, out_stride); break;
      case 3: TokenTile<F, 3>(f, w, row_bytes, n_rows, y, nb, o, out_stride); break;
      default: TokenTile<F, 4>(f, w, row_bytes, n_rows, y, nb, o, out_stride); break;
    }
  }
}

// WQ rows whose width is whole groups; group sizes are powers of two from 32.
bool WqTokenTiles(WqParams p, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                  size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride) {
  const size_t group = static_cast<size_t>(p.group);
  if (group < kQK || (group & (group - 1)) != 0 || n % group != 0) return false;
  size_t shift = 0;
  while ((kQK << shift) < group) ++shift;
  auto run = [&](auto format) {
    format.group_shift = shift;
    format.group_bytes = 4 + (group / kQK) * format.kChunkBytes;
    TokenTiles(format, w, row_bytes, n_rows, act, act_stride, n_tokens, n / kQK, out, out_stride);
    return true;
  };
  switch (p.bits) {
    case 2: return run(WqFormat<2>{});
    case 3: return run(WqFormat<3>{});
    case 4: return run(WqFormat<4>{});
    case 8: return run(WqFormat<8>{});
    default: return false;
  }
}

}  // namespace

bool dot_rows_tokens(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                     size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride) {
  const size_t nb = n / kQK;
  switch (type) {
    case GgmlType::kQ4_1: TokenTiles(Q4_1Format{}, w, row_bytes, n_rows, act, act_stride, n_tokens, nb, out, out_stride); return true;
    case GgmlType::kQ4_0: TokenTiles(Q4_0Format{}, w, row_bytes, n_rows, act, act_stride, n_tokens, nb, out, out_stride); return true;
    case GgmlType::kQ8_0: TokenTiles(Q8_0Format{}, w, row_bytes, n_rows, act, act_stride, n_tokens, nb, out, out_stride); return true;
    case GgmlType::kF32:
      dot_rows_tokens_f32(reinterpret_cast<const float*>(w), row_bytes / sizeof(float), n_rows,
                          reinterpret_cast<const float*>(act), act_stride / sizeof(float), n_tokens, n, out, out_stride);
      return true;
    default:
      if (auto p = wq_params(type); p && !wk_bits(type)) {
        return WqTokenTiles(*p, w, row_bytes, n_rows, act, act_stride, n_tokens, n, out, out_stride);
      }
      return false;
  }
}

}  // namespace webaccel::cpu::wasm_relaxed
#endif
