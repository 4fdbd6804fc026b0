// Block-quantized dot products for the wasm relaxed-SIMD build. Not in Highway: 1.0.3 has no int8
// dot product op and no relaxed-SIMD target, so this file uses wasm intrinsics directly.
// Weight codes go in as the 7-bit operand of i32x4.relaxed_dot_i8x16_i7x16_add_s (Q4 nibbles are
// 0..15; Q8_0 bytes are split into their low 7 bits and their sign bit), int8 activations as the
// other, so every integer block sum is exact and the same on every engine.
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

// The first 4 bytes of g (<= 4) blocks `stride` bytes apart, one block per lane, zeros past g.
inline v128_t LoadHeads(const uint8_t* first, size_t stride, size_t g) {
  if (g == kGroup) {  // lane inserts: a store-then-load of the four would stall on store forwarding
    return wasm_i32x4_make(Load32(first), Load32(first + stride), Load32(first + 2 * stride), Load32(first + 3 * stride));
  }
  uint32_t heads[kGroup] = {};
  for (size_t j = 0; j < g; ++j) heads[j] = Load32(first + j * stride);
  return wasm_v128_load(heads);
}

inline float HorizontalSum(v128_t v) {
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

// Per-format pieces. Block layouts are those of format/ggml_types.h; the first 4 bytes of every
// weight block hold its fp16 scale (and, for Q4_1, its fp16 min above it).
// 16 bytes of nibble codes (0..15): low nibbles pair with a0 (elements 0..15), high with a1.
inline v128_t DotNibbles(const uint8_t* codes, v128_t a0, v128_t a1) {
  const v128_t q = wasm_v128_load(codes);
  const v128_t s = dot_i8_i7_add(a0, wasm_v128_and(q, wasm_i8x16_splat(0x0f)), wasm_i32x4_splat(0));
  return dot_i8_i7_add(a1, wasm_u8x16_shr(q, 4), s);
}

struct Q4_1Format {  // value = q*d + m, activations Q8_1 (d, s = d*sum(q), qs)
  static constexpr size_t kBlockBytes = sizeof(BlockQ4_1), kActBytes = sizeof(BlockQ8_1), kActCodesAt = 4;
  static constexpr bool kHasMin = true, kHasOffset = false;
  static v128_t Dot(const uint8_t* blk, v128_t a0, v128_t a1) { return DotNibbles(blk + 4, a0, a1); }
};

struct Q4_0Format {  // value = (q - 8)*d, activations Q8_0; the 8 is taken off as 8*sum(a) per lane
  static constexpr size_t kBlockBytes = sizeof(BlockQ4_0), kActBytes = sizeof(BlockQ8_0), kActCodesAt = 2;
  static constexpr bool kHasMin = false, kHasOffset = true;
  static v128_t Dot(const uint8_t* blk, v128_t a0, v128_t a1) { return DotNibbles(blk + 2, a0, a1); }
};

struct Q8_0Format {  // value = q*d with q signed: q = (q & 127) - 128*(q < 0), both pieces 7-bit
  static constexpr size_t kBlockBytes = sizeof(BlockQ8_0), kActBytes = sizeof(BlockQ8_0), kActCodesAt = 2;
  static constexpr bool kHasMin = false, kHasOffset = false;
  static v128_t Dot(const uint8_t* blk, v128_t a0, v128_t a1) {
    const v128_t w0 = wasm_v128_load(blk + 2), w1 = wasm_v128_load(blk + 18);
    const v128_t low7 = wasm_i8x16_splat(0x7f), zero = wasm_i32x4_splat(0);
    const v128_t lo = dot_i8_i7_add(a1, wasm_v128_and(w1, low7), dot_i8_i7_add(a0, wasm_v128_and(w0, low7), zero));
    const v128_t neg = dot_i8_i7_add(a1, wasm_u8x16_shr(w1, 7), dot_i8_i7_add(a0, wasm_u8x16_shr(w0, 7), zero));
    return wasm_i32x4_sub(lo, wasm_i32x4_shl(neg, 7));
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
      const v128_t packed = LoadHeads(y[k] + b0 * F::kActBytes, F::kActBytes, nb - b0 < kGroup ? nb - b0 : kGroup);
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
void TokenTile(const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* const* y, size_t nb, float* out,
               size_t out_stride) {
  thread_local ActivationSide side;
  PrepareActivations<F>(y, NT, nb, side);
  const size_t padded = (nb + kGroup - 1) / kGroup * kGroup;
  for (size_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    v128_t acc[NT];
    for (size_t k = 0; k < NT; ++k) acc[k] = wasm_f32x4_splat(0.0f);
    for (size_t b0 = 0; b0 < nb; b0 += kGroup) {
      const size_t g = nb - b0 < kGroup ? nb - b0 : kGroup;
      const v128_t packed = LoadHeads(row + b0 * F::kBlockBytes, F::kBlockBytes, g);
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
        const uint8_t* blk = row + b * F::kBlockBytes;
        for (size_t k = 0; k < NT; ++k) {
          const uint8_t* a = y[k] + b * F::kActBytes + F::kActCodesAt;
          v128_t s = F::Dot(blk, wasm_v128_load(a), wasm_v128_load(a + 16));
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
void TokenTiles(const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act, size_t act_stride,
                size_t n_tokens, size_t nb, float* out, size_t out_stride) {
  for (size_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
    const size_t nt = n_tokens - t0 < kTokenTile ? n_tokens - t0 : kTokenTile;
    const uint8_t* y[kTokenTile];
    for (size_t k = 0; k < nt; ++k) y[k] = act + (t0 + k) * act_stride;
    float* o = out + t0 * out_stride;
    switch (nt) {
      case 1: TokenTile<F, 1>(w, row_bytes, n_rows, y, nb, o, out_stride); break;
      case 2: TokenTile<F, 2>(w, row_bytes, n_rows, y, nb, o, out_stride); break;
      case 3: TokenTile<F, 3>(w, row_bytes, n_rows, y, nb, o, out_stride); break;
      default: TokenTile<F, 4>(w, row_bytes, n_rows, y, nb, o, out_stride); break;
    }
  }
}

}  // namespace

bool dot_rows_tokens(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                     size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride) {
  const size_t nb = n / kQK;
  switch (type) {
    case GgmlType::kQ4_1: TokenTiles<Q4_1Format>(w, row_bytes, n_rows, act, act_stride, n_tokens, nb, out, out_stride); return true;
    case GgmlType::kQ4_0: TokenTiles<Q4_0Format>(w, row_bytes, n_rows, act, act_stride, n_tokens, nb, out, out_stride); return true;
    case GgmlType::kQ8_0: TokenTiles<Q8_0Format>(w, row_bytes, n_rows, act, act_stride, n_tokens, nb, out, out_stride); return true;
    case GgmlType::kF32:
      dot_rows_tokens_f32(reinterpret_cast<const float*>(w), row_bytes / sizeof(float), n_rows,
                          reinterpret_cast<const float*>(act), act_stride / sizeof(float), n_tokens, n, out, out_stride);
      return true;
    default: return false;
  }
}

}  // namespace webaccel::cpu::wasm_relaxed
#endif
