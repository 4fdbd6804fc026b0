// Float dot products for the wasm relaxed-SIMD build: relaxed_madd (one fused instruction where
// the CPU has FMA) instead of SIMD128's separate mul and add, and a register tile of 4 tokens x 2
// weight rows so each loaded vector feeds several products. Intrinsics, not Highway: 1.0.3's WASM
// MulAdd is always mul + add.
#include "cpu/wasm_relaxed_kernels.h"

#if defined(__wasm_relaxed_simd__)
#include "cpu/wasm_relaxed_ops.h"

namespace webaccel::cpu::wasm_relaxed {
namespace {

inline float HorizontalSum(v128_t v) {
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

template <size_t NT, size_t NR>
void Tile(const float* w, size_t row_stride, const float* x, size_t x_stride, size_t n, float* out, size_t out_stride) {
  v128_t acc[NT][NR];
  for (size_t k = 0; k < NT; ++k)
    for (size_t r = 0; r < NR; ++r) acc[k][r] = wasm_f32x4_splat(0.0f);
  const size_t n4 = n / 4 * 4;
  for (size_t i = 0; i < n4; i += 4) {
    v128_t wv[NR];
    for (size_t r = 0; r < NR; ++r) wv[r] = wasm_v128_load(w + r * row_stride + i);
    for (size_t k = 0; k < NT; ++k) {
      const v128_t xv = wasm_v128_load(x + k * x_stride + i);
      for (size_t r = 0; r < NR; ++r) acc[k][r] = madd(wv[r], xv, acc[k][r]);
    }
  }
  for (size_t k = 0; k < NT; ++k) {
    for (size_t r = 0; r < NR; ++r) {
      float s = HorizontalSum(acc[k][r]);
      for (size_t i = n4; i < n; ++i) s += w[r * row_stride + i] * x[k * x_stride + i];
      out[k * out_stride + r] = s;
    }
  }
}

template <size_t NT>
void TokenTile(const float* w, size_t row_stride, size_t n_rows, const float* x, size_t x_stride, size_t n, float* out,
               size_t out_stride) {
  size_t r = 0;
  for (; r + 2 <= n_rows; r += 2) Tile<NT, 2>(w + r * row_stride, row_stride, x, x_stride, n, out + r, out_stride);
  if (r < n_rows) Tile<NT, 1>(w + r * row_stride, row_stride, x, x_stride, n, out + r, out_stride);
}

}  // namespace

void dot_rows_tokens_f32(const float* w, size_t row_stride, size_t n_rows, const float* x, size_t x_stride,
                         size_t n_tokens, size_t n, float* out, size_t out_stride) {
  size_t t = 0;
  for (; t + 4 <= n_tokens; t += 4) TokenTile<4>(w, row_stride, n_rows, x + t * x_stride, x_stride, n, out + t * out_stride, out_stride);
  const float* xt = x + t * x_stride;
  float* ot = out + t * out_stride;
  switch (n_tokens - t) {
    case 1: TokenTile<1>(w, row_stride, n_rows, xt, x_stride, n, ot, out_stride); break;
    case 2: TokenTile<2>(w, row_stride, n_rows, xt, x_stride, n, ot, out_stride); break;
    case 3: TokenTile<3>(w, row_stride, n_rows, xt, x_stride, n, ot, out_stride); break;
    default: break;
  }
}

float dot_f32(const float* a, const float* b, size_t n) {
  v128_t acc0 = wasm_f32x4_splat(0.0f), acc1 = acc0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = madd(wasm_v128_load(a + i), wasm_v128_load(b + i), acc0);
    acc1 = madd(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4), acc1);
  }
  if (i + 4 <= n) {
    acc0 = madd(wasm_v128_load(a + i), wasm_v128_load(b + i), acc0);
    i += 4;
  }
  float s = HorizontalSum(wasm_f32x4_add(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace webaccel::cpu::wasm_relaxed
#endif
