// The outer-product f32 tile over packed panels (packed_f32.h), one Highway source for every
// target: a panel is two vectors of rows; NT tokens at a time keep 2 x NT accumulators in
// registers (kMaxTokens says how many fit). The wasm relaxed build fuses each multiply-add with
// f32x4.relaxed_madd (Highway 1.0.3's WASM MulAdd is mul + add).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/packed_f32_kernels_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#ifndef WEBACCEL_WASM_RELAXED_NT
#define WEBACCEL_WASM_RELAXED_NT 6
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "cpu/packed_f32.h"
#include "cpu/wasm_relaxed_ops.h"

namespace webaccel::cpu {
extern std::atomic<int> packed_f32_broadcast;  // set by packed_f32_use_broadcast()
}

HWY_BEFORE_NAMESPACE();
namespace webaccel::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::CappedTag<float, 16>;
using VF = hn::Vec<DF>;
constexpr size_t kLanes = HWY_MIN(16, HWY_LANES(float));
constexpr size_t kPanelRows = 2 * kLanes;
#undef WEBACCEL_PACKED_RELAXED_MADD  // this file is compiled once per target
#if HWY_TARGET == HWY_WASM && defined(__wasm_relaxed_simd__)
#define WEBACCEL_PACKED_RELAXED_MADD 1
#endif
// Tokens per tile: 2 NT accumulators + 2 weights + the broadcast (+ NT x vectors when broadcast by
// shuffle, + the product before its add without FMA) must fit the registers: 32 with AVX-512, 16
// on x86 otherwise, of which wasm engines give 15. Measured on MiniLM: load-splat NT 6 (relaxed)
// and 4 (SIMD128) in V8; shuffle NT 4 (relaxed) in SpiderMonkey.
#if defined(WEBACCEL_PACKED_RELAXED_MADD)
constexpr size_t kSplatTokens = 6, kShuffleTokens = 4;
#elif HWY_TARGET == HWY_WASM
constexpr size_t kSplatTokens = 4, kShuffleTokens = 3;
#else
constexpr size_t kSplatTokens = HWY_LANES(float) >= 16 ? 12 : 6, kShuffleTokens = 0;
#endif

HWY_INLINE VF Fma(VF a, VF b, VF acc) {
#ifdef WEBACCEL_PACKED_RELAXED_MADD
  return VF{wasm_relaxed::madd(a.raw, b.raw, acc.raw)};
#else
  return hn::MulAdd(a, b, acc);
#endif
}

// out[t][0..valid_rows) for NT tokens and one panel, accumulators starting at the bias; xg holds
// the NT tokens interleaved, so every operand is a constant offset from two pointers (wasm has no
// scaled-index addressing). kShuffle (wasm only: SpiderMonkey runs it faster, V8 slower): x[k]
// broadcast by a lane shuffle of a loaded block, xg (k_blocks, NT, kPackedKBlock); else
// broadcast from memory, xg (k_blocks * kPackedKBlock, NT).
template <size_t NT, bool kShuffle>
void PanelTile(const float* HWY_RESTRICT panel, const float* HWY_RESTRICT bias, size_t k_blocks, const float* HWY_RESTRICT xg,
               float* HWY_RESTRICT out, size_t out_stride, size_t valid_rows) {
  static_assert(!kShuffle || kLanes == kPackedKBlock, "a block of x is one vector");
  const DF d;
  VF acc0[NT], acc1[NT];
  const VF b0 = hn::LoadU(d, bias), b1 = hn::LoadU(d, bias + kLanes);
  for (size_t t = 0; t < NT; ++t) {
    acc0[t] = b0;
    acc1[t] = b1;
  }
  const float* wk = panel;
  if constexpr (kShuffle) {
    for (size_t blk = 0; blk < k_blocks; ++blk, xg += NT * kPackedKBlock) {
      VF xv[NT];
      for (size_t t = 0; t < NT; ++t) xv[t] = hn::LoadU(d, xg + t * kPackedKBlock);
      auto step = [&](auto lane) {  // the lane must be a constant: the 4 steps are unrolled
        const VF w0 = hn::LoadU(d, wk), w1 = hn::LoadU(d, wk + kLanes);
        wk += kPanelRows;
        for (size_t t = 0; t < NT; ++t) {
          const VF xt = hn::Broadcast<decltype(lane)::value>(xv[t]);
          acc0[t] = Fma(w0, xt, acc0[t]);
          acc1[t] = Fma(w1, xt, acc1[t]);
        }
      };
      step(std::integral_constant<int, 0>());
      step(std::integral_constant<int, 1>());
      step(std::integral_constant<int, 2>());
      step(std::integral_constant<int, 3>());
    }
  } else {
    // One k a step, x (cols, NT): V8 spills the accumulators of an unrolled k loop (20% slower).
    const size_t cols = k_blocks * kPackedKBlock;
    for (size_t k = 0; k < cols; ++k, wk += kPanelRows, xg += NT) {
      const VF w0 = hn::LoadU(d, wk), w1 = hn::LoadU(d, wk + kLanes);
      for (size_t t = 0; t < NT; ++t) {
        const VF xt = hn::Set(d, xg[t]);
        acc0[t] = Fma(w0, xt, acc0[t]);
        acc1[t] = Fma(w1, xt, acc1[t]);
      }
    }
  }
  for (size_t t = 0; t < NT; ++t) {
    float* o = out + t * out_stride;
    if (valid_rows == kPanelRows) {
      hn::StoreU(acc0[t], d, o);
      hn::StoreU(acc1[t], d, o + kLanes);
    } else {  // the last panel of a matrix whose rows are not a multiple of the panel
      alignas(64) float tmp[kPanelRows];
      hn::StoreU(acc0[t], d, tmp);
      hn::StoreU(acc1[t], d, tmp + kLanes);
      std::copy(tmp, tmp + valid_rows, o);
    }
  }
}

using TileFn = void (*)(const float*, const float*, size_t, const float*, float*, size_t, size_t);
template <bool kShuffle, size_t... I>
constexpr auto MakeTiles(std::index_sequence<I...>) {
  return std::array<TileFn, sizeof...(I)>{&PanelTile<I + 1, kShuffle>...};
}
constexpr auto kSplatTiles = MakeTiles<false>(std::make_index_sequence<kSplatTokens>());
constexpr auto kShuffleTiles = MakeTiles<true>(std::make_index_sequence<kShuffleTokens>());

size_t PanelRows() { return kPanelRows; }

template <bool kShuffle, size_t kMaxTokens>
void PanelsWith(const std::array<TileFn, kMaxTokens>& tiles, const PackedF32Matrix& w, size_t p_begin, size_t p_end,
                const float* x, size_t x_stride, size_t n_tokens, float* out, size_t out_stride) {
  // Even token groups (17 tokens with NT 12: 9 + 8, not 12 + 5), so no group runs short of registers' work.
  const size_t groups = (n_tokens + kMaxTokens - 1) / kMaxTokens;
  const size_t group = groups ? (n_tokens + groups - 1) / groups : 0;
  // Each group's tokens interleaved once at xg + t * padded_cols, zero past cols, read by every
  // panel: (k_blocks, nt, kPackedKBlock) for the shuffle, else (padded_cols, nt).
  const size_t kc = w.padded_cols;
  thread_local std::vector<float> xg;
  xg.assign(n_tokens * kc, 0.0f);
  for (size_t t = 0; t < n_tokens; t += group) {
    const size_t nt = std::min(group, n_tokens - t);
    for (size_t j = 0; j < nt; ++j) {
      for (size_t k = 0; k < w.cols; ++k) {
        const size_t at = kShuffle ? (k / kPackedKBlock * nt + j) * kPackedKBlock + k % kPackedKBlock : k * nt + j;
        xg[t * kc + at] = x[(t + j) * x_stride + k];
      }
    }
  }
  for (size_t p = p_begin; p < p_end; ++p) {
    const float* panel = w.panels.data() + p * kc * kPanelRows;
    const size_t r0 = p * kPanelRows, valid = std::min(kPanelRows, w.rows - r0);
    for (size_t t = 0; t < n_tokens; t += group) {
      const size_t nt = std::min(group, n_tokens - t);
      tiles[nt - 1](panel, w.bias.data() + r0, kc / kPackedKBlock, xg.data() + t * kc, out + t * out_stride + r0, out_stride, valid);
    }
  }
}

bool HasShuffleBroadcast() { return kShuffleTokens > 0; }

void PackedPanels(const PackedF32Matrix& w, size_t p_begin, size_t p_end, const float* x, size_t x_stride,
                  size_t n_tokens, float* out, size_t out_stride) {
  if constexpr (kShuffleTokens > 0) {
    if (packed_f32_broadcast.load(std::memory_order_relaxed) == 1) return PanelsWith<true>(kShuffleTiles, w, p_begin, p_end, x, x_stride, n_tokens, out, out_stride);
  }
  PanelsWith<false>(kSplatTiles, w, p_begin, p_end, x, x_stride, n_tokens, out, out_stride);
}

}  // namespace webaccel::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace webaccel::cpu {

std::atomic<int> packed_f32_broadcast{0};
void packed_f32_use_broadcast(int kind) { packed_f32_broadcast.store(kind, std::memory_order_relaxed); }

HWY_EXPORT(PanelRows);
HWY_EXPORT(HasShuffleBroadcast);
HWY_EXPORT(PackedPanels);

size_t packed_f32_panel_rows() { return HWY_DYNAMIC_DISPATCH(PanelRows)(); }
bool packed_f32_has_shuffle_broadcast() { return HWY_DYNAMIC_DISPATCH(HasShuffleBroadcast)(); }

void packed_f32_panels(const PackedF32Matrix& w, size_t p_begin, size_t p_end, const float* x, size_t x_stride,
                       size_t n_tokens, float* out, size_t out_stride) {
  if (w.panel_rows != packed_f32_panel_rows()) fail(ErrorKind::kInternal, "packed_f32_panels: packed for another SIMD target");
  HWY_DYNAMIC_DISPATCH(PackedPanels)(w, p_begin, p_end, x, x_stride, n_tokens, out, out_stride);
}

}  // namespace webaccel::cpu
#endif
