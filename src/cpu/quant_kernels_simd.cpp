// SIMD quantized kernels: activation quantization and block dot products.
// Written once with Highway for every target (x86, WASM SIMD128). Highway 1.0.3 has no int8 dot
// product op, so the AVX3_DL target (AVX-512 VNNI) adds a vpdpbusd path with raw intrinsics.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/quant_kernels_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/quant_blocks.h"
#include "cpu/simd_width.h"
#include "cpu/wasm_f16.h"
#include "cpu/wasm_relaxed_kernels.h"

// The wasm build made with -mrelaxed-simd hands its formats to cpu/*_wasm_relaxed.cpp.
#if HWY_TARGET == HWY_WASM && defined(__wasm_relaxed_simd__)
#define WEBACCEL_WASM_RELAXED 1
#endif

HWY_BEFORE_NAMESPACE();
namespace webaccel::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Block scales are fp16: one F16C instruction on x86 targets, the exact bit routine elsewhere.
HWY_INLINE float F16(uint16_t h) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  return _cvtsh_ss(h);
#else
  return half_to_float(h);
#endif
}

// Quantizes one 32-float block to int8 with scale amax/127; returns the scale, stores codes.
HWY_INLINE float QuantizeBlock(const float* HWY_RESTRICT x, int8_t* HWY_RESTRICT q, int* sum) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto vmax = hn::Zero(df);
  for (size_t i = 0; i < kQK; i += N) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(df, x + i)));
  const float amax = hn::GetLane(hn::MaxOfLanes(df, vmax));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  const hn::Rebind<int32_t, decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> di8;
  auto codes_sum = hn::Zero(di);
  for (size_t i = 0; i < kQK; i += N) {  // codes within +-127: narrowing never saturates
    const auto codes = hn::NearestInt(hn::Mul(hn::LoadU(df, x + i), hn::Set(df, id)));
    codes_sum = hn::Add(codes_sum, codes);
    hn::StoreU(hn::DemoteTo(di8, codes), di8, q + i);
  }
  *sum = hn::GetLane(hn::SumOfLanes(di, codes_sum));
  return d;
}

void QuantizeActivation(GgmlType weight_type, const float* x, void* out, size_t n) {
  const GgmlType at = activation_type_for(weight_type);
  if (at == GgmlType::kQ8_0) {
    auto* y = static_cast<BlockQ8_0*>(out);
    for (size_t b = 0; b < n / kQK; ++b) {
      int sum;
      y[b].d = float_to_half(QuantizeBlock(x + b * kQK, y[b].qs, &sum));
    }
  } else if (at == GgmlType::kQ8_1) {
    auto* y = static_cast<BlockQ8_1*>(out);
    for (size_t b = 0; b < n / kQK; ++b) {
      int sum;
      const float d = QuantizeBlock(x + b * kQK, y[b].qs, &sum);
      y[b].d = float_to_half(d);
      y[b].s = float_to_half(d * static_cast<float>(sum));
    }
  } else {
    std::memcpy(out, x, n * sizeof(float));
  }
}

#if HWY_TARGET == HWY_SCALAR
// The scalar target has no 128-bit vectors: it is the reference itself.
void DotRows(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const void* act, size_t n, float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = reference::dot_row(type, w + r * row_bytes, act, n);
}
#else
// Integer dot of 16 unsigned weight codes (0..255) with 16 int8 activations, widened to int16.
using DU8 = hn::Full128<uint8_t>;
using DI8 = hn::Full128<int8_t>;
using DI16 = hn::Full128<int16_t>;
using DI32 = hn::Full128<int32_t>;
using DF32 = hn::Full128<float>;

HWY_INLINE hn::Vec<DI32> MulAddCodes(hn::Vec<DI16> w16, hn::Vec<DI16> a16, hn::Vec<DI32> acc) {
  const DI32 di32;
  auto unused = hn::Zero(di32);
  return hn::ReorderWidenMulAccumulate(di32, w16, a16, acc, unused);
}

HWY_INLINE hn::Vec<DI32> DotI8x16(hn::Vec<DI8> w, hn::Vec<DI8> a, hn::Vec<DI32> acc) {
  const DI16 di16;
  const hn::Half<DI8> dh;
  acc = MulAddCodes(hn::PromoteTo(di16, hn::LowerHalf(dh, w)), hn::PromoteTo(di16, hn::LowerHalf(dh, a)), acc);
  return MulAddCodes(hn::PromoteTo(di16, hn::UpperHalf(dh, w)), hn::PromoteTo(di16, hn::UpperHalf(dh, a)), acc);
}

// Sum over one block of (nibble codes) x (int8 activations): low nibbles pair with a[0..15].
HWY_INLINE hn::Vec<DI32> DotNibbles(const uint8_t* HWY_RESTRICT qs, const int8_t* HWY_RESTRICT a) {
  const DU8 du8;
  const DI8 di8;
  const auto q = hn::LoadU(du8, qs);
  const auto lo = hn::BitCast(di8, hn::And(q, hn::Set(du8, 0x0f)));
  const auto hi = hn::BitCast(di8, hn::ShiftRight<4>(q));
  auto acc = DotI8x16(lo, hn::LoadU(di8, a), hn::Zero(DI32()));
  return DotI8x16(hi, hn::LoadU(di8, a + 16), acc);
}

HWY_INLINE float ReduceF32(hn::Vec<DF32> v) { return hn::GetLane(hn::SumOfLanes(DF32(), v)); }

float DotQ4_1(const BlockQ4_1* HWY_RESTRICT x, const BlockQ8_1* HWY_RESTRICT y, size_t nb) {
  const DF32 df;
  auto acc = hn::Zero(df);
  float mins = 0.0f;
  for (size_t b = 0; b < nb; ++b) {
    const auto sumi = DotNibbles(x[b].qs, y[b].qs);
    acc = hn::MulAdd(hn::ConvertTo(df, sumi), hn::Set(df, F16(x[b].d) * F16(y[b].d)), acc);
    mins += F16(x[b].m) * F16(y[b].s);
  }
  return ReduceF32(acc) + mins;
}

float DotQ4_0(const BlockQ4_0* HWY_RESTRICT x, const BlockQ8_0* HWY_RESTRICT y, size_t nb) {
  const DF32 df;
  const DI8 di8;
  auto acc = hn::Zero(df);
  const auto eights = hn::Set(di8, 8);
  for (size_t b = 0; b < nb; ++b) {
    // (q - 8) . a = q . a - 8 . a
    auto sumi = DotNibbles(x[b].qs, y[b].qs);
    auto offs = DotI8x16(eights, hn::LoadU(di8, y[b].qs), hn::Zero(DI32()));
    offs = DotI8x16(eights, hn::LoadU(di8, y[b].qs + 16), offs);
    acc = hn::MulAdd(hn::ConvertTo(df, hn::Sub(sumi, offs)),
                     hn::Set(df, F16(x[b].d) * F16(y[b].d)), acc);
  }
  return ReduceF32(acc);
}

float DotQ8_0(const BlockQ8_0* HWY_RESTRICT x, const BlockQ8_0* HWY_RESTRICT y, size_t nb) {
  const DF32 df;
  const DI8 di8;
  auto acc = hn::Zero(df);
  for (size_t b = 0; b < nb; ++b) {
    auto sumi = DotI8x16(hn::LoadU(di8, x[b].qs), hn::LoadU(di8, y[b].qs), hn::Zero(DI32()));
    sumi = DotI8x16(hn::LoadU(di8, x[b].qs + 16), hn::LoadU(di8, y[b].qs + 16), sumi);
    acc = hn::MulAdd(hn::ConvertTo(df, sumi), hn::Set(df, F16(x[b].d) * F16(y[b].d)), acc);
  }
  return ReduceF32(acc);
}

float DotF32(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n);
float DotF16F32(const uint16_t* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n);

#if HWY_TARGET == HWY_AVX3_DL
// vpdpbusd multiplies unsigned bytes by signed bytes and sums groups of four into int32 lanes.
// 512-bit only: Highway 1.0.3's AVX3_DL flags enable AVX-VNNI (VEX form, absent on Zen 4) but
// not AVX512-VNNI, which these functions add (listing the rest too: clang replaces, not extends).
#define WEBACCEL_VNNI __attribute__((target("avx2,fma,f16c,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
HWY_INLINE __m256i NibblesAsBytes(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

// Two blocks side by side in one 512-bit register.
HWY_INLINE __m512i Pair(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }
HWY_INLINE __m512 PairScale(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(lo)), _mm256_set1_ps(hi), 1);
}
HWY_INLINE __m256i LoadBytes(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

WEBACCEL_VNNI void DotRowsQ8_0(const uint8_t* w, size_t row_bytes, size_t n_rows, const BlockQ8_0* y, size_t nb, float* out) {
  for (size_t r = 0; r < n_rows; ++r) {
    const auto* x = reinterpret_cast<const BlockQ8_0*>(w + r * row_bytes);
    __m512 acc = _mm512_setzero_ps();
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      const __m512i xv = Pair(LoadBytes(x[b].qs), LoadBytes(x[b + 1].qs));
      const __m512i yv = Pair(LoadBytes(y[b].qs), LoadBytes(y[b + 1].qs));
      // |x| is unsigned; y takes x's sign (zero where x is zero) so every product keeps its sign.
      const __mmask64 neg = _mm512_movepi8_mask(xv);
      const __m512i ys = _mm512_mask_sub_epi8(yv, neg, _mm512_setzero_si512(), yv);
      const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(xv), ys);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
                            PairScale(F16(x[b].d) * F16(y[b].d),
                                      F16(x[b + 1].d) * F16(y[b + 1].d)), acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    if (b < nb) sum += DotQ8_0(x + b, y + b, nb - b);
    out[r] = sum;
  }
}

// Each weight block pair is unpacked once and multiplied with up to 4 tokens. Activation scales
// are widened to vectors once per call: [d_b x8 | d_b+1 x8] and [s_b/8 x8 | s_b+1/8 x8], so the
// min term m*s folds into the same accumulator (lane sum of 8 copies of s/8 is s, exactly).
constexpr size_t kTokenTile = 4;

// Splits the tokens into tiles of up to kTokenTile and calls tile(NT, activation rows, out) with
// NT as a compile-time constant, so each kernel's token loop unrolls.
template <class TileFn>
HWY_INLINE void ForEachTokenTile(const uint8_t* act, size_t act_stride, size_t n_tokens, float* out, size_t out_stride,
                                 TileFn tile) {
  for (size_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
    const size_t nt = std::min(kTokenTile, n_tokens - t0);
    const BlockQ8_1* y[kTokenTile];
    for (size_t k = 0; k < nt; ++k) y[k] = reinterpret_cast<const BlockQ8_1*>(act + (t0 + k) * act_stride);
    float* o = out + t0 * out_stride;
    switch (nt) {
      case 1: tile(std::integral_constant<size_t, 1>{}, y, o); break;
      case 2: tile(std::integral_constant<size_t, 2>{}, y, o); break;
      case 3: tile(std::integral_constant<size_t, 3>{}, y, o); break;
      default: tile(std::integral_constant<size_t, 4>{}, y, o); break;
    }
  }
}


// One tile of NT tokens (NT is a template argument so the token loop unrolls).
template <size_t NT>
WEBACCEL_VNNI void DotRowsTokenTileQ4_1(const uint8_t* w, size_t row_bytes, size_t n_rows, const BlockQ8_1* const* y,
                                        size_t nb, float* out, size_t out_stride) {
  const size_t n_pairs = nb / 2;
  thread_local std::vector<float> scales;  // (NT, n_pairs, 2, 16): d pair, s/8 pair
  scales.resize(NT * n_pairs * 32);
  for (size_t k = 0; k < NT; ++k) {
    for (size_t p = 0; p < n_pairs; ++p) {
      const BlockQ8_1& a = y[k][2 * p];
      const BlockQ8_1& b = y[k][2 * p + 1];
      float* dst = &scales[(k * n_pairs + p) * 32];
      _mm512_storeu_ps(dst, PairScale(F16(a.d), F16(b.d)));
      _mm512_storeu_ps(dst + 16, PairScale(F16(a.s) * 0.125f, F16(b.s) * 0.125f));
    }
  }
  for (size_t r = 0; r < n_rows; ++r) {
    const auto* x = reinterpret_cast<const BlockQ4_1*>(w + r * row_bytes);
    __m512 acc[NT];
    for (size_t k = 0; k < NT; ++k) acc[k] = _mm512_setzero_ps();
    for (size_t p = 0; p < n_pairs; ++p) {
      const size_t b = 2 * p;
      const __m512i q = Pair(NibblesAsBytes(x[b].qs), NibblesAsBytes(x[b + 1].qs));
      const __m512 wd = PairScale(F16(x[b].d), F16(x[b + 1].d));
      const __m512 wm = PairScale(F16(x[b].m), F16(x[b + 1].m));
      for (size_t k = 0; k < NT; ++k) {
        const __m512i a = Pair(LoadBytes(y[k][b].qs), LoadBytes(y[k][b + 1].qs));
        const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a);
        const float* sc = &scales[(k * n_pairs + p) * 32];
        acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(wd, _mm512_loadu_ps(sc)), acc[k]);
        acc[k] = _mm512_fmadd_ps(wm, _mm512_loadu_ps(sc + 16), acc[k]);
      }
    }
    for (size_t k = 0; k < NT; ++k) {
      float total = _mm512_reduce_add_ps(acc[k]);
      if (nb % 2) total += DotQ4_1(x + nb - 1, y[k] + nb - 1, 1);
      out[k * out_stride + r] = total;
    }
  }
}

void DotRowsTokensQ4_1(const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act, size_t act_stride,
                       size_t n_tokens, size_t nb, float* out, size_t out_stride) {
  ForEachTokenTile(act, act_stride, n_tokens, out, out_stride, [&](auto nt, const BlockQ8_1* const* y, float* o) {
    DotRowsTokenTileQ4_1<decltype(nt)::value>(w, row_bytes, n_rows, y, nb, o, out_stride);
  });
}
#define WEBACCEL_HAVE_TOKEN_TILED_Q4_1 1

// WQ formats (cpu/wq_reference.h): each 32-code chunk unpacked to 32 bytes, two chunks per register.
template <int kBits>
HWY_INLINE __m256i UnpackWqChunk(const uint8_t* in) {
  if constexpr (kBits == 8) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
  } else if constexpr (kBits == 4) {
    return NibblesAsBytes(in);
  } else {
    uint64_t packed;
    std::memcpy(&packed, in, 8);
    // 64-bit lane k holds every byte shifted by 2k: its bytes are codes 8k..8k+7.
    __m256i q = _mm256_and_si256(_mm256_srlv_epi64(_mm256_set1_epi64x(static_cast<long long>(packed)), _mm256_set_epi64x(6, 4, 2, 0)),
                                 _mm256_set1_epi8(3));
    if constexpr (kBits == 3) {
      uint32_t high;
      std::memcpy(&high, in + 8, 4);
      const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(high)),
                                                 _mm256_set_epi8(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2,
                                                                 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0));
      const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
      q = _mm256_or_si256(q, _mm256_and_si256(set, _mm256_set1_epi8(4)));
    }
    return q;
  }
}

template <int kBits, size_t NT>
WEBACCEL_VNNI void DotRowsTokenTileWq(const uint8_t* w, size_t row_bytes, size_t n_rows, const BlockQ8_1* const* y,
                                      size_t n, size_t group, float* out, size_t out_stride) {
  const size_t n_pairs = n / 64, chunks_per_group = group / 32, chunk_bytes = 4 * kBits;
  const size_t group_bytes = 4 + chunks_per_group * chunk_bytes;
  thread_local std::vector<float> scales;  // (NT, n_pairs, 2, 16): activation d pair, s/8 pair
  scales.resize(NT * n_pairs * 32);
  for (size_t k = 0; k < NT; ++k) {
    for (size_t p = 0; p < n_pairs; ++p) {
      float* dst = &scales[(k * n_pairs + p) * 32];
      _mm512_storeu_ps(dst, PairScale(F16(y[k][2 * p].d), F16(y[k][2 * p + 1].d)));
      _mm512_storeu_ps(dst + 16, PairScale(F16(y[k][2 * p].s) * 0.125f, F16(y[k][2 * p + 1].s) * 0.125f));
    }
  }
  auto chunk_ptr = [&](const uint8_t* row, size_t c) { return row + (c / chunks_per_group) * group_bytes + 4 + (c % chunks_per_group) * chunk_bytes; };
  auto group_half = [&](const uint8_t* row, size_t c, size_t field) {
    uint16_t h;
    std::memcpy(&h, row + (c / chunks_per_group) * group_bytes + 2 * field, 2);
    return F16(h);
  };
  for (size_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    __m512 acc[NT];
    for (size_t k = 0; k < NT; ++k) acc[k] = _mm512_setzero_ps();
    for (size_t p = 0; p < n_pairs; ++p) {
      const size_t c = 2 * p;
      const __m512i q = Pair(UnpackWqChunk<kBits>(chunk_ptr(row, c)), UnpackWqChunk<kBits>(chunk_ptr(row, c + 1)));
      const __m512 wd = PairScale(group_half(row, c, 0), group_half(row, c + 1, 0));
      const __m512 wm = PairScale(group_half(row, c, 1), group_half(row, c + 1, 1));
      for (size_t k = 0; k < NT; ++k) {
        const __m512i a = Pair(LoadBytes(y[k][c].qs), LoadBytes(y[k][c + 1].qs));
        const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a);
        const float* sc = &scales[(k * n_pairs + p) * 32];
        acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(wd, _mm512_loadu_ps(sc)), acc[k]);
        acc[k] = _mm512_fmadd_ps(wm, _mm512_loadu_ps(sc + 16), acc[k]);
      }
    }
    for (size_t k = 0; k < NT; ++k) out[k * out_stride + r] = _mm512_reduce_add_ps(acc[k]);
  }
}

template <int kBits>
void DotRowsTokensWqBits(const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act, size_t act_stride,
                         size_t n_tokens, size_t n, size_t group, float* out, size_t out_stride) {
  ForEachTokenTile(act, act_stride, n_tokens, out, out_stride, [&](auto nt, const BlockQ8_1* const* y, float* o) {
    DotRowsTokenTileWq<kBits, decltype(nt)::value>(w, row_bytes, n_rows, y, n, group, o, out_stride);
  });
}

// WK super-blocks (cpu/wk_reference.h): 12 sub-blocks of 16 weights. vpdpbusd lane i sums codes
// 4i..4i+3, so each run of 4 lanes belongs to one sub-block: scales are spread 4 lanes apiece.
template <int kBits, size_t NT>
WEBACCEL_VNNI void DotRowsTokenTileWk(const uint8_t* w, size_t row_bytes, size_t n_rows, const BlockQ8_1* const* y,
                                      size_t n, float* out, size_t out_stride) {
  const size_t n_pairs = n / 64, sb_bytes = 16 + 24 * kBits;
  // Per token and chunk pair: activation scales (16 lanes) and d_a * (sum of 4 activations) per lane.
  thread_local std::vector<float> act_side;
  act_side.resize(NT * n_pairs * 32);
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t k = 0; k < NT; ++k) {
    for (size_t p = 0; p < n_pairs; ++p) {
      const __m512 da = PairScale(F16(y[k][2 * p].d), F16(y[k][2 * p + 1].d));
      const __m512i a = Pair(LoadBytes(y[k][2 * p].qs), LoadBytes(y[k][2 * p + 1].qs));
      float* dst = &act_side[(k * n_pairs + p) * 32];
      _mm512_storeu_ps(dst, da);
      _mm512_storeu_ps(dst + 16, _mm512_mul_ps(da, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, a))));
    }
  }
  const __m512i lane_group = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  for (size_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    __m512 acc[NT];
    for (size_t k = 0; k < NT; ++k) acc[k] = _mm512_setzero_ps();
    for (size_t s = 0; s < n / kWkSuperBlock; ++s) {
      const uint8_t* sb = row + s * sb_bytes;
      uint16_t dh, mh;
      std::memcpy(&dh, sb, 2);
      std::memcpy(&mh, sb + 2, 2);
      alignas(16) uint8_t scale_codes[16] = {};
      std::memcpy(scale_codes, sb + 4, 12);
      const __m512i codes = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(scale_codes)));
      const __m512 scales = _mm512_mul_ps(_mm512_set1_ps(F16(dh)), _mm512_cvtepi32_ps(_mm512_and_si512(codes, _mm512_set1_epi32(15))));
      const __m512 mins = _mm512_mul_ps(_mm512_set1_ps(F16(mh)), _mm512_cvtepi32_ps(_mm512_srli_epi32(codes, 4)));
      for (size_t j = 0; j < 3; ++j) {
        const size_t p = s * 3 + j;
        const __m512i idx = _mm512_add_epi32(lane_group, _mm512_set1_epi32(static_cast<int>(4 * j)));
        const __m512 wd = _mm512_permutexvar_ps(idx, scales);
        const __m512 wm = _mm512_permutexvar_ps(idx, mins);
        const uint8_t* c0 = sb + 16 + (2 * j) * 4 * kBits;
        const __m512i q = Pair(UnpackWqChunk<kBits>(c0), UnpackWqChunk<kBits>(c0 + 4 * kBits));
        for (size_t k = 0; k < NT; ++k) {
          const __m512i a = Pair(LoadBytes(y[k][2 * p].qs), LoadBytes(y[k][2 * p + 1].qs));
          const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a);
          const float* side = &act_side[(k * n_pairs + p) * 32];
          acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(wd, _mm512_loadu_ps(side)), acc[k]);
          acc[k] = _mm512_fnmadd_ps(wm, _mm512_loadu_ps(side + 16), acc[k]);
        }
      }
    }
    for (size_t k = 0; k < NT; ++k) out[k * out_stride + r] = _mm512_reduce_add_ps(acc[k]);
  }
}

template <int kBits>
void DotRowsTokensWkBits(const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act, size_t act_stride,
                         size_t n_tokens, size_t n, float* out, size_t out_stride) {
  ForEachTokenTile(act, act_stride, n_tokens, out, out_stride, [&](auto nt, const BlockQ8_1* const* y, float* o) {
    DotRowsTokenTileWk<kBits, decltype(nt)::value>(w, row_bytes, n_rows, y, n, o, out_stride);
  });
}

// False when the row shape needs the reference (an odd number of 32-element chunks).
bool DotRowsTokensWq(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                     size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride) {
  if (auto wk = wk_bits(type)) {
    if (n % kWkSuperBlock != 0) return false;
    switch (*wk) {
      case 2: DotRowsTokensWkBits<2>(w, row_bytes, n_rows, act, act_stride, n_tokens, n, out, out_stride); return true;
      case 3: DotRowsTokensWkBits<3>(w, row_bytes, n_rows, act, act_stride, n_tokens, n, out, out_stride); return true;
      case 4: DotRowsTokensWkBits<4>(w, row_bytes, n_rows, act, act_stride, n_tokens, n, out, out_stride); return true;
    }
    return false;
  }
  const auto p = wq_params(type);
  if (!p || n % 64 != 0) return false;
  const size_t g = static_cast<size_t>(p->group);
  switch (p->bits) {
    case 2: DotRowsTokensWqBits<2>(w, row_bytes, n_rows, act, act_stride, n_tokens, n, g, out, out_stride); return true;
    case 3: DotRowsTokensWqBits<3>(w, row_bytes, n_rows, act, act_stride, n_tokens, n, g, out, out_stride); return true;
    case 4: DotRowsTokensWqBits<4>(w, row_bytes, n_rows, act, act_stride, n_tokens, n, g, out, out_stride); return true;
    case 8: DotRowsTokensWqBits<8>(w, row_bytes, n_rows, act, act_stride, n_tokens, n, g, out, out_stride); return true;
  }
  return false;
}

void DotRowsQ4_1(const uint8_t* w, size_t row_bytes, size_t n_rows, const BlockQ8_1* y, size_t nb, float* out) {
  DotRowsTokensQ4_1(w, row_bytes, n_rows, reinterpret_cast<const uint8_t*>(y), 0, 1, nb, out, 0);
}
#else
void DotRowsQ4_1(const uint8_t* w, size_t row_bytes, size_t n_rows, const BlockQ8_1* y, size_t nb, float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = DotQ4_1(reinterpret_cast<const BlockQ4_1*>(w + r * row_bytes), y, nb);
}
void DotRowsQ8_0(const uint8_t* w, size_t row_bytes, size_t n_rows, const BlockQ8_0* y, size_t nb, float* out) {
  for (size_t r = 0; r < n_rows; ++r) out[r] = DotQ8_0(reinterpret_cast<const BlockQ8_0*>(w + r * row_bytes), y, nb);
}
#endif

void DotRows(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const void* act, size_t n, float* out) {
  const size_t nb = n / kQK;
#ifdef WEBACCEL_WASM_RELAXED
  if (wasm_relaxed::dot_rows_tokens(type, w, row_bytes, n_rows, static_cast<const uint8_t*>(act), 0, 1, n, out, 0)) return;
#endif
  switch (type) {
    case GgmlType::kQ4_1: DotRowsQ4_1(w, row_bytes, n_rows, static_cast<const BlockQ8_1*>(act), nb, out); return;
    case GgmlType::kQ8_0: DotRowsQ8_0(w, row_bytes, n_rows, static_cast<const BlockQ8_0*>(act), nb, out); return;
    case GgmlType::kQ4_0:
      for (size_t r = 0; r < n_rows; ++r) {
        out[r] = DotQ4_0(reinterpret_cast<const BlockQ4_0*>(w + r * row_bytes), static_cast<const BlockQ8_0*>(act), nb);
      }
      return;
    case GgmlType::kF32:
      for (size_t r = 0; r < n_rows; ++r) {
        out[r] = DotF32(reinterpret_cast<const float*>(w + r * row_bytes), static_cast<const float*>(act), n);
      }
      return;
    case GgmlType::kF16:
      for (size_t r = 0; r < n_rows; ++r) {
        out[r] = DotF16F32(reinterpret_cast<const uint16_t*>(w + r * row_bytes), static_cast<const float*>(act), n);
      }
      return;
    default:
      for (size_t r = 0; r < n_rows; ++r) out[r] = reference::dot_row(type, w + r * row_bytes, act, n);
      return;
  }
}

#endif  // HWY_TARGET == HWY_SCALAR

void DotRowsTokens(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                   size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride) {
#ifdef WEBACCEL_WASM_RELAXED
  if (wasm_relaxed::dot_rows_tokens(type, w, row_bytes, n_rows, act, act_stride, n_tokens, n, out, out_stride)) return;
#endif
#if defined(WEBACCEL_HAVE_TOKEN_TILED_Q4_1) && HWY_TARGET == HWY_AVX3_DL
  if (type == GgmlType::kQ4_1) {
    DotRowsTokensQ4_1(w, row_bytes, n_rows, act, act_stride, n_tokens, n / kQK, out, out_stride);
    return;
  }
  if (DotRowsTokensWq(type, w, row_bytes, n_rows, act, act_stride, n_tokens, n, out, out_stride)) return;
#endif
  for (size_t t = 0; t < n_tokens; ++t) DotRows(type, w, row_bytes, n_rows, act + t * act_stride, n, out + t * out_stride);
}

float DotF32(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n) {
#ifdef WEBACCEL_WASM_RELAXED
  return wasm_relaxed::dot_f32(a, b, n);
#endif
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto acc0 = hn::Zero(df), acc1 = hn::Zero(df);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    acc0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc0);
    acc1 = hn::MulAdd(hn::LoadU(df, a + i + N), hn::LoadU(df, b + i + N), acc1);
  }
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

float DotF16F32(const uint16_t* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const size_t N = hn::Lanes(df);
  auto acc = hn::Zero(df);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto av = hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(a + i)));
    acc = hn::MulAdd(av, hn::LoadU(df, b + i), acc);
  }
  float s = hn::GetLane(hn::SumOfLanes(df, acc));
  for (; i < n; ++i) s += F16(a[i]) * b[i];
  return s;
}

#if HWY_TARGET == HWY_WASM
// (v0 + v2) + (v1 + v3) of each of four vectors, as SumOfLanes adds one, in one vector.
HWY_INLINE v128_t SumOfLanes4(v128_t a, v128_t b, v128_t c, v128_t d) {
  const v128_t ab = wasm_f32x4_add(wasm_i32x4_shuffle(a, b, 0, 1, 4, 5), wasm_i32x4_shuffle(a, b, 2, 3, 6, 7));
  const v128_t cd = wasm_f32x4_add(wasm_i32x4_shuffle(c, d, 0, 1, 4, 5), wasm_i32x4_shuffle(c, d, 2, 3, 6, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 2, 4, 6), wasm_i32x4_shuffle(ab, cd, 1, 3, 5, 7));
}

// DotF16F32 of RK rows with G vectors at once (each row converted once for all G), the same
// operations in the same order per (vector, row); b2 holds the vectors times 2^112, n floats apart.
template <size_t RK, size_t G>
HWY_INLINE void DotF16F32Tile(const uint16_t* a, size_t stride, const float* b, size_t b_stride, const float* b2, size_t n,
                              float* out, size_t out_stride) {
  namespace f16 = wasm_f16;
  const size_t n4 = n & ~size_t{3}, n8 = n & ~size_t{7};
  v128_t acc[G * RK];
  for (auto& v : acc) v = wasm_f32x4_splat(0.0f);
  size_t i = 0;
  for (; i < n8; i += 8) {
    for (size_t r = 0; r < RK; ++r) {
      const v128_t h = wasm_v128_load(a + r * stride + i);
      const v128_t lo = f16::low_scaled(h), hi = f16::high_scaled(h);
      for (size_t g = 0; g < G; ++g) {
        v128_t& c = acc[g * RK + r];
        c = wasm_f32x4_add(wasm_f32x4_mul(lo, wasm_v128_load(b2 + g * n + i)), c);
        c = wasm_f32x4_add(wasm_f32x4_mul(hi, wasm_v128_load(b2 + g * n + i + 4)), c);
      }
    }
  }
  if (i < n4) {
    for (size_t r = 0; r < RK; ++r) {
      const v128_t lo = f16::low_scaled(wasm_v128_load64_zero(a + r * stride + i));
      for (size_t g = 0; g < G; ++g) {
        acc[g * RK + r] = wasm_f32x4_add(wasm_f32x4_mul(lo, wasm_v128_load(b2 + g * n + i)), acc[g * RK + r]);
      }
    }
  }
  alignas(16) float sums[G * RK + 3];
  size_t k = 0;
  for (; k + 4 <= G * RK; k += 4) wasm_v128_store(sums + k, SumOfLanes4(acc[k], acc[k + 1], acc[k + 2], acc[k + 3]));
  for (; k < G * RK; ++k) sums[k] = hn::GetLane(hn::SumOfLanes(hn::Full128<float>(), hn::Vec128<float>{acc[k]}));
  for (size_t g = 0; g < G; ++g) {
    for (size_t r = 0; r < RK; ++r) {
      float s = sums[g * RK + r];
      for (size_t t = n4; t < n; ++t) s += F16(a[r * stride + t]) * b[g * b_stride + t];
      out[g * out_stride + r] = s;
    }
  }
}

// G vectors against every row, RK rows a pass.
template <size_t RK, size_t G>
HWY_INLINE void DotF16F32RowsOf(const uint16_t* a, size_t stride, size_t n_rows, const float* b, size_t b_stride,
                                const float* b2, size_t n, float* out, size_t out_stride) {
  size_t j = 0;
  for (; j + RK <= n_rows; j += RK) DotF16F32Tile<RK, G>(a + j * stride, stride, b, b_stride, b2, n, out + j, out_stride);
  for (; j < n_rows; ++j) DotF16F32Tile<1, G>(a + j * stride, stride, b, b_stride, b2, n, out + j, out_stride);
}
#endif

void DotF16F32Rows(const uint16_t* HWY_RESTRICT a, size_t stride, size_t n_rows, const float* HWY_RESTRICT b,
                   size_t b_stride, size_t n_b, size_t n, float* HWY_RESTRICT out, size_t out_stride) {
#if HWY_TARGET == HWY_WASM
  constexpr size_t kMax = 1024;
  alignas(16) float b2[kMax];
  bool scalable = n_b * n <= kMax;  // cpu/wasm_f16.h: b carries the 2^112
  for (size_t g = 0; scalable && g < n_b; ++g) {
    for (size_t i = 0; scalable && i < n; ++i) {
      scalable = wasm_f16::scalable(b[g * b_stride + i]);
      b2[g * n + i] = b[g * b_stride + i] * wasm_f16::kUp;
    }
  }
  if (scalable) {
    size_t g = 0;  // up to three vectors a pass: each row is converted once for all of them
    for (; g + 3 <= n_b; g += 3) {
      DotF16F32RowsOf<2, 3>(a, stride, n_rows, b + g * b_stride, b_stride, b2 + g * n, n, out + g * out_stride, out_stride);
    }
    if (n_b - g == 2) DotF16F32RowsOf<2, 2>(a, stride, n_rows, b + g * b_stride, b_stride, b2 + g * n, n, out + g * out_stride, out_stride);
    if (n_b - g == 1) DotF16F32RowsOf<4, 1>(a, stride, n_rows, b + g * b_stride, b_stride, b2 + g * n, n, out + g * out_stride, out_stride);
    return;
  }
#endif
  for (size_t g = 0; g < n_b; ++g) {
    for (size_t j = 0; j < n_rows; ++j) out[g * out_stride + j] = DotF16F32(a + j * stride, b + g * b_stride, n);
  }
}

#ifdef WEBACCEL_WASM_RELAXED
const char* TargetName() { return "WASM+relaxed"; }
#else
const char* TargetName() { return hwy::TargetName(HWY_TARGET); }
#endif

}  // namespace webaccel::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace webaccel::cpu {

// WEBACCEL_CPU_SIMD (cpu/simd_width.h), applied while the program starts, before any kernel runs.
[[maybe_unused]] const bool kSimdWidthFromEnv = apply_simd_width_from_env();

HWY_EXPORT(QuantizeActivation);
HWY_EXPORT(DotRows);
HWY_EXPORT(DotRowsTokens);
HWY_EXPORT(DotF32);
HWY_EXPORT(DotF16F32);
HWY_EXPORT(DotF16F32Rows);
HWY_EXPORT(TargetName);

void quantize_activation(GgmlType weight_type, const float* x, void* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(QuantizeActivation)(weight_type, x, out, n);
}
void dot_rows(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const void* act, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(DotRows)(type, w, row_bytes, n_rows, act, n, out);
}
void dot_rows_tokens(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                     size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride) {
  HWY_DYNAMIC_DISPATCH(DotRowsTokens)(type, w, row_bytes, n_rows, act, act_stride, n_tokens, n, out, out_stride);
}
float dot_f32(const float* a, const float* b, size_t n) { return HWY_DYNAMIC_DISPATCH(DotF32)(a, b, n); }
float dot_f16_f32(const uint16_t* a, const float* b, size_t n) { return HWY_DYNAMIC_DISPATCH(DotF16F32)(a, b, n); }
void dot_f16_f32_rows(const uint16_t* a, size_t stride, size_t n_rows, const float* b, size_t b_stride, size_t n_b, size_t n,
                      float* out, size_t out_stride) {
  HWY_DYNAMIC_DISPATCH(DotF16F32Rows)(a, stride, n_rows, b, b_stride, n_b, n, out, out_stride);
}
const char* simd_target_name() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace webaccel::cpu
#endif
