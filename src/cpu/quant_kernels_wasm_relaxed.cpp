// Block-quantized dot products for the wasm relaxed-SIMD build. Not in Highway: 1.0.3 has no int8
// dot product op and no relaxed-SIMD target, so this file uses wasm intrinsics directly.
// Codes below 128 (Q4 nibbles, WQ 2/3/4-bit codes) go in as the 7-bit operand of the relaxed
// int8 dot products, int8 activations as the other; whole-byte codes (Q8_0, WQ8) meet activations
// widened to int16 (i32x4.dot_i16x8_s). Either way every integer block sum is exact and the same
// on every engine, and so is every float: each (token, row) accumulator takes the same operations
// in the same order whatever tiling computes it.
#include "cpu/wasm_relaxed_kernels.h"

#if defined(__wasm_relaxed_simd__)
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "cpu/wasm_relaxed_ops.h"

namespace webaccel::cpu::wasm_relaxed {
namespace {

constexpr size_t kTokenTile = 6;  // tokens sharing one unpacked weight block (4 and 8 measured slower: 8 spills in V8)
constexpr size_t kGroup = 4;      // blocks per step: their scales fill one f32x4
constexpr size_t kRowsOneToken = 4;  // rows per pass for a single token (TokenTile)

// Four fp16 values (low or high 16 bits of each i32 lane) to f32, exact for every finite half
// (block scales are finite): sign and magnitude bits shifted arithmetically into float position
// (the mask drops the copies of the sign), then rescaled by 2^(127-15); a negative half's sign
// rides through the multiplication. Three or four operations where masking sign and magnitude
// apart takes seven.
inline v128_t HighHalvesToFloats(v128_t h) {
  const v128_t bits = wasm_v128_and(wasm_i32x4_shr(h, 3), wasm_i32x4_splat(static_cast<int32_t>(0x8FFFE000u)));
  return wasm_f32x4_mul(bits, wasm_f32x4_splat(0x1p112f));
}
inline v128_t HalvesToFloats(v128_t h) { return HighHalvesToFloats(wasm_i32x4_shl(h, 16)); }

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
// Codes below 16 of a block (0..15 in lo, 16..31 in hi) against activations a0 and a1: each 16-bit
// lane of the two halves' sums holds 4 products of at most 128 * 15, so they are added before one
// widening (one pmaddwd where a relaxed i32 dot per half would need two).
inline v128_t DotSmallCodes(v128_t lo, v128_t hi, v128_t a0, v128_t a1) {
  return wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_add(dot_i8_i7_i16(a0, lo), dot_i8_i7_i16(a1, hi)));
}

// 16 bytes of nibble codes (0..15): low nibbles pair with a0 (elements 0..15), high with a1.
inline v128_t DotNibbles(const uint8_t* codes, v128_t a0, v128_t a1) {
  const v128_t q = wasm_v128_load(codes);
  const v128_t low4 = wasm_i8x16_splat(0x0f);  // 16-bit shift + mask: V8 builds a mask of its own for an 8-bit shift
  return DotSmallCodes(wasm_v128_and(q, low4), wasm_v128_and(wasm_u16x8_shr(q, 4), low4), a0, a1);
}

// One block's 32 int8 activations as they are stored (elements 0..15 and 16..31).
struct ActBytes {
  v128_t a0, a1;
};
// The same widened to int16, each half split into its even and odd elements (computed once per
// call): what unsigned byte codes meet, through i32x4.dot_i16x8_s.
struct ActWide {
  v128_t even0, odd0, even1, odd1;
};
// The same as magnitudes (0..127: the quantizer rounds x * 127 / max|x|, never to -128) and sign
// masks of each half, and per lane the sum of the negative elements' magnitudes: what signed
// byte codes meet (computed once per call).
struct ActSplit {
  v128_t abs0, sign0, abs1, sign1, fix;
};

template <class Act>
inline Act PrepareAct(const uint8_t* codes);

template <>
inline ActWide PrepareAct<ActWide>(const uint8_t* codes) {
  const v128_t a0 = wasm_v128_load(codes), a1 = wasm_v128_load(codes + 16);
  return {wasm_i16x8_shr(wasm_i16x8_shl(a0, 8), 8), wasm_i16x8_shr(a0, 8), wasm_i16x8_shr(wasm_i16x8_shl(a1, 8), 8),
          wasm_i16x8_shr(a1, 8)};
}

template <>
inline ActSplit PrepareAct<ActSplit>(const uint8_t* codes) {
  const v128_t a0 = wasm_v128_load(codes), a1 = wasm_v128_load(codes + 16);
  const v128_t zero = wasm_i8x16_splat(0), s0 = wasm_i8x16_lt(a0, zero), s1 = wasm_i8x16_lt(a1, zero);
  const v128_t m0 = wasm_i8x16_abs(a0), m1 = wasm_i8x16_abs(a1);
  const v128_t neg = wasm_i16x8_add(wasm_u16x8_extadd_pairwise_u8x16(wasm_v128_and(m0, s0)),
                                    wasm_u16x8_extadd_pairwise_u8x16(wasm_v128_and(m1, s1)));
  return {m0, s0, m1, s1, wasm_u32x4_extadd_pairwise_u16x8(neg)};
}

// 32 unsigned byte codes (0..255) against ActWide: the even and odd bytes of each half
// zero-extended to int16 and multiplied in pairs with the matching activations, so lane l sums
// elements 4l..4l+3 of both halves, as the relaxed dots of the other formats do.
inline v128_t DotUnsignedBytes(const uint8_t* codes, const ActWide& a) {
  const v128_t w0 = wasm_v128_load(codes), w1 = wasm_v128_load(codes + 16), low8 = wasm_i16x8_splat(0xff);
  const v128_t s0 = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_and(w0, low8), a.even0),
                                   wasm_i32x4_dot_i16x8(wasm_u16x8_shr(w0, 8), a.odd0));
  const v128_t s1 = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_and(w1, low8), a.even1),
                                   wasm_i32x4_dot_i16x8(wasm_u16x8_shr(w1, 8), a.odd1));
  return wasm_i32x4_add(s0, s1);
}

// 32 signed byte codes w (-128 included) against ActSplit: w * a = |a| * (w ^ sign(a)) + [a < 0] |a|,
// since w ^ -1 = -w - 1. w ^ sign(a) is a valid int8 for every w, |a| is the 7-bit operand, a pair
// of products is at most 2 * 128 * 127 in magnitude (no 16-bit saturation), so every lane sum
// (elements 4l..4l+3 of both halves) is exact: one xor, one 16-bit relaxed dot and one widening per
// half, where widening both operands takes two multiplies and more shifts.
inline v128_t DotSignedBytes(const uint8_t* codes, const ActSplit& a) {
  const v128_t w0 = wasm_v128_load(codes), w1 = wasm_v128_load(codes + 16);
  const v128_t p0 = wasm_i32x4_extadd_pairwise_i16x8(dot_i8_i7_i16(wasm_v128_xor(w0, a.sign0), a.abs0));
  const v128_t p1 = wasm_i32x4_extadd_pairwise_i16x8(dot_i8_i7_i16(wasm_v128_xor(w1, a.sign1), a.abs1));
  return wasm_i32x4_add(wasm_i32x4_add(p0, p1), a.fix);
}

template <class Block>
struct FixedBlocks {  // GGML blocks: one head per 32 weights, blocks back to back
  static const uint8_t* Head(const uint8_t* row, size_t b) { return row + b * sizeof(Block); }
};

// Act: what Dot takes of a block's activations (ActBytes: as stored; the others prepared per call).
struct Q4_1Format : FixedBlocks<BlockQ4_1> {  // value = q*d + m, activations Q8_1 (d, s = d*sum(q), qs)
  static constexpr size_t kActBytes = sizeof(BlockQ8_1), kActCodesAt = 4;
  static constexpr bool kHasMin = true, kHasOffset = false;
  using Act = ActBytes;
  v128_t Dot(const uint8_t* row, size_t b, const ActBytes& a) const { return DotNibbles(Head(row, b) + 4, a.a0, a.a1); }
};

struct Q4_0Format : FixedBlocks<BlockQ4_0> {  // value = (q - 8)*d, activations Q8_0; 8*sum(a) taken off per lane
  static constexpr size_t kActBytes = sizeof(BlockQ8_0), kActCodesAt = 2;
  static constexpr bool kHasMin = false, kHasOffset = true;
  using Act = ActBytes;
  v128_t Dot(const uint8_t* row, size_t b, const ActBytes& a) const { return DotNibbles(Head(row, b) + 2, a.a0, a.a1); }
};

struct Q8_0Format : FixedBlocks<BlockQ8_0> {  // value = q*d, q signed
  static constexpr size_t kActBytes = sizeof(BlockQ8_0), kActCodesAt = 2;
  static constexpr bool kHasMin = false, kHasOffset = false;
  using Act = ActSplit;
  v128_t Dot(const uint8_t* row, size_t b, const ActSplit& a) const { return DotSignedBytes(Head(row, b) + 2, a); }
};

// WQ (cpu/wq_reference.h): value = q*d + m per group of 32 << group_shift weights, [d][m][chunks];
// activations Q8_1 like Q4_1.
template <int kBits>
struct WqFormat {
  static constexpr size_t kActBytes = sizeof(BlockQ8_1), kActCodesAt = 4, kChunkBytes = 4 * kBits;
  static constexpr bool kHasMin = true, kHasOffset = false;
  using Act = std::conditional_t<kBits == 8, ActWide, ActBytes>;
  size_t group_shift = 0, group_bytes = 0;

  const uint8_t* Head(const uint8_t* row, size_t b) const { return row + (b >> group_shift) * group_bytes; }
  v128_t Dot(const uint8_t* row, size_t b, const Act& a) const {
    const uint8_t* codes = Head(row, b) + 4 + (b & ((size_t{1} << group_shift) - 1)) * kChunkBytes;
    if constexpr (kBits == 8) {
      return DotUnsignedBytes(codes, a);
    } else if constexpr (kBits == 4) {
      return DotNibbles(codes, a.a0, a.a1);
    } else {
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
      return DotSmallCodes(lo, hi, a.a0, a.a1);
    }
  }
};

// What each token's activation row contributes, computed once per call for every row, token by
// token within each block (group), so that a tile finds its NT tokens' data at constant offsets
// from one pointer: block scales d (and s for Q8_1) four blocks a vector, zeros past the last
// block; Q4_0's 8*sum(a) per lane; the activations as Act (ActBytes: the codes as stored).
template <class Act>
struct ActivationSide {
  std::vector<v128_t> d, s;  // (group of kGroup blocks, token)
  std::vector<v128_t> offset;  // (block, token)
  std::vector<Act> acts;       // (block, token)
};

template <class Act>
inline Act LoadAct(const uint8_t* codes) {
  if constexpr (std::is_same_v<Act, ActBytes>) {
    return ActBytes{wasm_v128_load(codes), wasm_v128_load(codes + 16)};
  } else {
    return PrepareAct<Act>(codes);
  }
}

template <class F>
void PrepareActivations(const uint8_t* const* y, size_t nt, size_t nb, ActivationSide<typename F::Act>& side) {
  const size_t groups = (nb + kGroup - 1) / kGroup;
  side.d.resize(groups * nt);
  if constexpr (F::kHasMin) side.s.resize(groups * nt);
  if constexpr (F::kHasOffset) side.offset.resize(nb * nt);
  side.acts.resize(nb * nt);
  for (size_t k = 0; k < nt; ++k) {
    for (size_t b0 = 0; b0 < nb; b0 += kGroup) {  // scales four blocks at a time, zeros past the last
      auto head = [&](size_t b) { return y[k] + b * F::kActBytes; };
      const v128_t packed = LoadHeads(head, b0, nb - b0 < kGroup ? nb - b0 : kGroup);
      side.d[b0 / kGroup * nt + k] = HalvesToFloats(packed);
      if constexpr (F::kHasMin) side.s[b0 / kGroup * nt + k] = HighHalvesToFloats(packed);
    }
    if constexpr (F::kHasOffset) {
      const v128_t eights = wasm_i8x16_splat(8);
      for (size_t b = 0; b < nb; ++b) {
        const uint8_t* a = y[k] + b * F::kActBytes + F::kActCodesAt;
        side.offset[b * nt + k] =
            dot_i8_i7_add(wasm_v128_load(a + 16), eights, dot_i8_i7_add(wasm_v128_load(a), eights, wasm_i32x4_splat(0)));
      }
    }
    for (size_t b = 0; b < nb; ++b) side.acts[b * nt + k] = LoadAct<typename F::Act>(y[k] + b * F::kActBytes + F::kActCodesAt);
  }
}

// NT tokens against RT weight rows (template arguments, so the loops unroll). Each (token, row)
// accumulator sees the same operations in the same order whatever NT and RT are, so every tiling
// gives the same floats; RT > 1 lets a single token's chains of multiply-adds interleave.
template <class F, size_t NT, size_t RT>
__attribute__((noinline)) void Tile(const F& f, const uint8_t* w, size_t row_step, const ActivationSide<typename F::Act>& side,
                                    size_t nb, float* out, size_t out_step, size_t out_stride) {
  v128_t acc[NT][RT];
  for (size_t k = 0; k < NT; ++k) {
    for (size_t r = 0; r < RT; ++r) acc[k][r] = wasm_f32x4_splat(0.0f);
  }
  for (size_t b0 = 0; b0 < nb; b0 += kGroup) {
    const size_t g = nb - b0 < kGroup ? nb - b0 : kGroup;
    v128_t scale[NT][RT];
    const v128_t* d = &side.d[b0 / kGroup * NT];
    for (size_t r = 0; r < RT; ++r) {
      const uint8_t* row = w + r * row_step;
      const v128_t packed = LoadHeads([&](size_t b) { return f.Head(row, b); }, b0, g);
      const v128_t wd = HalvesToFloats(packed);
      for (size_t k = 0; k < NT; ++k) {
        scale[k][r] = wasm_f32x4_mul(wd, d[k]);
        if constexpr (F::kHasMin) acc[k][r] = madd(HighHalvesToFloats(packed), side.s[b0 / kGroup * NT + k], acc[k][r]);
      }
    }
    // Block j of the group: its integer sums times lane j of each token's scales.
    auto block = [&]<int J>(std::integral_constant<int, J>) {
      if (static_cast<size_t>(J) >= g) return;
      const size_t b = b0 + J;
      const auto* acts = &side.acts[b * NT];
      for (size_t k = 0; k < NT; ++k) {
        for (size_t r = 0; r < RT; ++r) {
          v128_t s = f.Dot(w + r * row_step, b, acts[k]);
          if constexpr (F::kHasOffset) s = wasm_i32x4_sub(s, side.offset[b * NT + k]);
          acc[k][r] = madd(wasm_f32x4_convert_i32x4(s), wasm_i32x4_shuffle(scale[k][r], scale[k][r], J, J, J, J), acc[k][r]);
        }
      }
    };
    [&]<int... J>(std::integer_sequence<int, J...>) { (block(std::integral_constant<int, J>{}), ...); }(
        std::make_integer_sequence<int, kGroup>{});
  }
  for (size_t k = 0; k < NT; ++k) {
    for (size_t r = 0; r < RT; ++r) out[k * out_stride + r * out_step] = HorizontalSum(acc[k][r]);
  }
}

// NT tokens (a template argument so the token loops unroll) against n_rows weight rows. A single
// token takes RT rows a pass, n_rows / RT rows apart, so that RT chains of multiply-adds are in
// flight and the weights still stream as RT long sequential runs (rows next to each other, read
// side by side, measured slower than one row at a time).
template <class F, size_t NT>
void TokenTile(const F& f, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* const* y, size_t nb,
               float* out, size_t out_stride) {
  thread_local ActivationSide<typename F::Act> side;
  PrepareActivations<F>(y, NT, nb, side);
  size_t r = 0;
  if constexpr (NT == 1) {
    constexpr size_t RT = kRowsOneToken;
    const size_t span = n_rows / RT;
    for (; r < span; ++r) Tile<F, 1, RT>(f, w + r * row_bytes, span * row_bytes, side, nb, out + r, span, out_stride);
    r = span * RT;
  }
  for (; r < n_rows; ++r) Tile<F, NT, 1>(f, w + r * row_bytes, row_bytes, side, nb, out + r, 1, out_stride);
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
      case 4: TokenTile<F, 4>(f, w, row_bytes, n_rows, y, nb, o, out_stride); break;
      case 5: TokenTile<F, 5>(f, w, row_bytes, n_rows, y, nb, o, out_stride); break;
      default: TokenTile<F, 6>(f, w, row_bytes, n_rows, y, nb, o, out_stride); break;
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
