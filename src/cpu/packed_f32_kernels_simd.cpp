// The outer-product f32 tile over packed panels (packed_f32.h), one Highway source for every
// target: a panel is two vectors of rows; NT tokens at a time keep 2 x NT accumulators in
// registers (kTileTokens says how many fit). The wasm relaxed build fuses each multiply-add with
// f32x4.relaxed_madd (Highway 1.0.3's WASM MulAdd is mul + add).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/packed_f32_kernels_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "core/error.h"
#include "cpu/packed_f32.h"
#include "cpu/wasm_relaxed_ops.h"

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
// Tokens per tile: 2 NT accumulators + 2 weights + the broadcast x[k] (+ the product before its
// add without FMA) must fit the registers: 32 with AVX-512, 16 on x86 otherwise, of which wasm
// engines give 15. Measured on MiniLM in Chromium and Firefox: NT 6 with relaxed SIMD, 5 without.
#if defined(WEBACCEL_PACKED_RELAXED_MADD)
constexpr size_t kTileTokens = 6;
#elif HWY_TARGET == HWY_WASM
constexpr size_t kTileTokens = 5;
#else
constexpr size_t kTileTokens = HWY_LANES(float) >= 16 ? 12 : 6;
#endif

HWY_INLINE VF Fma(VF a, VF b, VF acc) {
#ifdef WEBACCEL_PACKED_RELAXED_MADD
  return VF{wasm_relaxed::madd(a.raw, b.raw, acc.raw)};
#else
  return hn::MulAdd(a, b, acc);
#endif
}

// out (NT, out_stride) = NT tokens x one whole panel, accumulators starting at the bias. xg holds
// the NT tokens interleaved, (k_blocks * kPackedKBlock, NT), so every operand is a constant offset
// from two pointers (wasm has no scaled-index addressing) and x[k] is broadcast by a load-splat.
// One k a step: V8 spills the accumulators of an unrolled k loop (20% slower). No branch and no
// call after the loop (a partial last panel gets a scratch out from the caller): SpiderMonkey
// otherwise spills the live accumulators inside the loop and runs the 6-token tile at half speed.
template <size_t NT>
void PanelTile(const float* HWY_RESTRICT panel, const float* HWY_RESTRICT bias, size_t cols, const float* HWY_RESTRICT xg,
               float* HWY_RESTRICT out, size_t out_stride) {
  const DF d;
  VF acc0[NT], acc1[NT];
  const VF b0 = hn::LoadU(d, bias), b1 = hn::LoadU(d, bias + kLanes);
  for (size_t t = 0; t < NT; ++t) {
    acc0[t] = b0;
    acc1[t] = b1;
  }
  const float* wk = panel;
  for (size_t k = 0; k < cols; ++k, wk += kPanelRows, xg += NT) {
    const VF w0 = hn::LoadU(d, wk), w1 = hn::LoadU(d, wk + kLanes);
    for (size_t t = 0; t < NT; ++t) {
      const VF xt = hn::Set(d, xg[t]);
      acc0[t] = Fma(w0, xt, acc0[t]);
      acc1[t] = Fma(w1, xt, acc1[t]);
    }
  }
  for (size_t t = 0; t < NT; ++t) {
    hn::StoreU(acc0[t], d, out + t * out_stride);
    hn::StoreU(acc1[t], d, out + t * out_stride + kLanes);
  }
}

using TileFn = void (*)(const float*, const float*, size_t, const float*, float*, size_t);
template <size_t... I>
constexpr auto MakeTiles(std::index_sequence<I...>) {
  return std::array<TileFn, sizeof...(I)>{&PanelTile<I + 1>...};
}
constexpr auto kTiles = MakeTiles(std::make_index_sequence<kTileTokens>());

size_t PanelRows() { return kPanelRows; }

void PackedPanels(const PackedF32Matrix& w, size_t p_begin, size_t p_end, const float* x, size_t x_stride,
                  size_t n_tokens, float* out, size_t out_stride) {
  if (n_tokens == 0) return;
  // Groups of at most kTileTokens tokens, as even as they come (17 with 6: 6 + 6 + 5; with 5:
  // 5 + 4 + 4 + 4), so no tile runs short of work; group g is tokens [first(g), first(g + 1)).
  const size_t n_groups = (n_tokens + kTileTokens - 1) / kTileTokens;
  const auto first = [&](size_t g) { return g * (n_tokens / n_groups) + std::min(g, n_tokens % n_groups); };
  // Each group's tokens interleaved once at xg + first * padded_cols, (padded_cols, nt), zero past cols.
  const size_t kc = w.padded_cols;
  thread_local std::vector<float> xg;
  xg.assign(n_tokens * kc, 0.0f);
  for (size_t g = 0; g < n_groups; ++g) {
    const size_t t0 = first(g), nt = first(g + 1) - t0;
    for (size_t j = 0; j < nt; ++j) {
      for (size_t k = 0; k < w.cols; ++k) xg[t0 * kc + k * nt + j] = x[(t0 + j) * x_stride + k];
    }
  }
  // Each panel passes over all the groups: read from memory once a product (many sentences when
  // batched), not once a sentence. Blocking the groups so their activations stay in L2 measured
  // no faster up to 544 tokens (MiniLM, Chromium and Firefox).
  for (size_t p = p_begin; p < p_end; ++p) {
    const float* panel = w.panels.data() + p * kc * kPanelRows;
    const size_t r0 = p * kPanelRows, valid = std::min(kPanelRows, w.rows - r0);
    for (size_t g = 0; g < n_groups; ++g) {
      const size_t t0 = first(g), nt = first(g + 1) - t0;
      if (valid == kPanelRows) {
        kTiles[nt - 1](panel, w.bias.data() + r0, kc, xg.data() + t0 * kc, out + t0 * out_stride + r0, out_stride);
      } else {  // the last panel of a matrix whose rows are not a multiple of the panel
        alignas(64) float tmp[kTileTokens * kPanelRows];
        kTiles[nt - 1](panel, w.bias.data() + r0, kc, xg.data() + t0 * kc, tmp, kPanelRows);
        for (size_t j = 0; j < nt; ++j) std::copy(tmp + j * kPanelRows, tmp + j * kPanelRows + valid, out + (t0 + j) * out_stride + r0);
      }
    }
  }
}

}  // namespace webaccel::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace webaccel::cpu {

HWY_EXPORT(PanelRows);
HWY_EXPORT(PackedPanels);

size_t packed_f32_panel_rows() { return HWY_DYNAMIC_DISPATCH(PanelRows)(); }

void packed_f32_panels(const PackedF32Matrix& w, size_t p_begin, size_t p_end, const float* x, size_t x_stride,
                       size_t n_tokens, float* out, size_t out_stride) {
  if (w.panel_rows != packed_f32_panel_rows()) fail(ErrorKind::kInternal, "packed_f32_panels: packed for another SIMD target");
  HWY_DYNAMIC_DISPATCH(PackedPanels)(w, p_begin, p_end, x, x_stride, n_tokens, out, out_stride);
}

}  // namespace webaccel::cpu
#endif
