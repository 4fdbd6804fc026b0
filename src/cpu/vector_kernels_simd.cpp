// SIMD float kernels (norms, activations, softmax, f16 conversions), one Highway source for
// every target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/vector_kernels_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/wasm_f16.h"
#include "cpu/wasm_relaxed_ops.h"

HWY_BEFORE_NAMESPACE();
namespace webaccel::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using DH = hn::Rebind<hwy::float16_t, DF>;

// Applies f to whole vectors and g to the scalar tail.
template <class VecFn, class ScalarFn>
HWY_INLINE void ForEach(size_t n, VecFn f, ScalarFn g) {
  const size_t N = hn::Lanes(DF());
  size_t i = 0;
  for (; i + N <= n; i += N) f(i);
  for (; i < n; ++i) g(i);
}

HWY_INLINE float SumSquares(const float* x, size_t n) {
  const DF df;
  auto acc = hn::Zero(df);
  float tail = 0.0f;
  ForEach(n, [&](size_t i) { const auto v = hn::LoadU(df, x + i); acc = hn::MulAdd(v, v, acc); },
          [&](size_t i) { tail += x[i] * x[i]; });
  return hn::GetLane(hn::SumOfLanes(df, acc)) + tail;
}

void AxpyF16(float a, const uint16_t* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t n) {
  const DF df;
  const DH dh;
  const auto va = hn::Set(df, a);
  ForEach(n, [&](size_t i) {
    const auto xv = hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(x + i)));
    hn::StoreU(hn::MulAdd(va, xv, hn::LoadU(df, y + i)), df, y + i);
  }, [&](size_t i) { y[i] += a * half_to_float(x[i]); });
}

#if HWY_TARGET == HWY_WASM
// AxpyF16Rows for G outputs at once: each stretch of x converted once for all G; kFloats floats of
// every y stay in registers across the rows. w2: the weights times 2^112, n_rows apart per output.
template <size_t G, size_t kFloats>
HWY_INLINE void AxpyF16RowsWasm(const float* w2, const uint16_t* x, size_t stride, size_t n_rows, float* y, size_t y_stride,
                                size_t n) {
  namespace f16 = wasm_f16;
  const size_t n4 = n & ~size_t{3};
  size_t i = 0;
  auto stretch = [&]<size_t kN>(std::integral_constant<size_t, kN>) {  // kN floats of each y, kN a multiple of 8
    constexpr size_t kVecs = kN / 4;
    v128_t acc[G][kVecs];
    for (size_t g = 0; g < G; ++g) {
      for (size_t v = 0; v < kVecs; ++v) acc[g][v] = wasm_v128_load(y + g * y_stride + i + 4 * v);
    }
    for (size_t j = 0; j < n_rows; ++j) {
      const uint16_t* xr = x + j * stride + i;
      for (size_t v = 0; v < kVecs; v += 2) {
        const v128_t h = wasm_v128_load(xr + 4 * v);
        const v128_t lo = f16::low_scaled(h), hi = f16::high_scaled(h);
        for (size_t g = 0; g < G; ++g) {
          const v128_t p = wasm_f32x4_splat(w2[g * n_rows + j]);
          acc[g][v] = wasm_f32x4_add(wasm_f32x4_mul(p, lo), acc[g][v]);
          acc[g][v + 1] = wasm_f32x4_add(wasm_f32x4_mul(p, hi), acc[g][v + 1]);
        }
      }
    }
    for (size_t g = 0; g < G; ++g) {
      for (size_t v = 0; v < kVecs; ++v) wasm_v128_store(y + g * y_stride + i + 4 * v, acc[g][v]);
    }
    i += kN;
  };
  while (i + kFloats <= n4) stretch(std::integral_constant<size_t, kFloats>{});
  while (i + 8 <= n4) stretch(std::integral_constant<size_t, 8>{});
  if (i < n4) {  // four floats
    v128_t acc[G];
    for (size_t g = 0; g < G; ++g) acc[g] = wasm_v128_load(y + g * y_stride + i);
    for (size_t j = 0; j < n_rows; ++j) {
      const v128_t lo = f16::low_scaled(wasm_v128_load64_zero(x + j * stride + i));
      for (size_t g = 0; g < G; ++g) acc[g] = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(w2[g * n_rows + j]), lo), acc[g]);
    }
    for (size_t g = 0; g < G; ++g) wasm_v128_store(y + g * y_stride + i, acc[g]);
  }
}
#endif

// AxpyF16 for rows j = 0 .. n_rows - 1 of x in order, into each of n_y outputs with its own weights.
void AxpyF16Rows(const float* HWY_RESTRICT w, size_t w_stride, const uint16_t* HWY_RESTRICT x, size_t stride, size_t n_rows,
                 float* HWY_RESTRICT y, size_t y_stride, size_t n_y, size_t n) {
#if HWY_TARGET == HWY_WASM
  thread_local std::vector<float> w2;  // cpu/wasm_f16.h: the weights carry the 2^112
  w2.resize(n_y * n_rows);
  bool scalable = true;
  for (size_t g = 0; g < n_y; ++g) {
    for (size_t j = 0; j < n_rows; ++j) {
      scalable = scalable && wasm_f16::scalable(w[g * w_stride + j]);
      w2[g * n_rows + j] = w[g * w_stride + j] * wasm_f16::kUp;
    }
  }
  if (scalable) {
    size_t g = 0;  // up to three outputs a pass
    for (; g + 3 <= n_y; g += 3) AxpyF16RowsWasm<3, 8>(w2.data() + g * n_rows, x, stride, n_rows, y + g * y_stride, y_stride, n);
    if (n_y - g == 2) AxpyF16RowsWasm<2, 16>(w2.data() + g * n_rows, x, stride, n_rows, y + g * y_stride, y_stride, n);
    if (n_y - g == 1) AxpyF16RowsWasm<1, 32>(w2.data() + g * n_rows, x, stride, n_rows, y + g * y_stride, y_stride, n);
    const size_t n4 = n & ~size_t{3};
    for (g = 0; g < n_y; ++g) {
      for (size_t j = 0; j < n_rows; ++j) {
        for (size_t t = n4; t < n; ++t) y[g * y_stride + t] += w[g * w_stride + j] * half_to_float(x[j * stride + t]);
      }
    }
    return;
  }
#endif
  for (size_t g = 0; g < n_y; ++g) {
    for (size_t j = 0; j < n_rows; ++j) AxpyF16(w[g * w_stride + j], x + j * stride, y + g * y_stride, n);
  }
}

void Scale(float* y, float a, size_t n) {
  const DF df;
  ForEach(n, [&](size_t i) { hn::StoreU(hn::Mul(hn::LoadU(df, y + i), hn::Set(df, a)), df, y + i); },
          [&](size_t i) { y[i] *= a; });
}

void AddInplace(float* HWY_RESTRICT y, const float* HWY_RESTRICT a, size_t n) {
  const DF df;
  ForEach(n, [&](size_t i) { hn::StoreU(hn::Add(hn::LoadU(df, y + i), hn::LoadU(df, a + i)), df, y + i); },
          [&](size_t i) { y[i] += a[i]; });
}

void RmsNorm(const float* x, const float* w, float eps, float* out, size_t n) {
  const DF df;
  const float scale = 1.0f / std::sqrt(SumSquares(x, n) / static_cast<float>(n) + eps);
  const auto vs = hn::Set(df, scale);
  ForEach(n, [&](size_t i) { hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(df, x + i), vs), hn::LoadU(df, w + i)), df, out + i); },
          [&](size_t i) { out[i] = x[i] * scale * w[i]; });
}

void LayerNorm(const float* x, const float* w, const float* b, float eps, float* out, size_t n) {
  const DF df;
  auto acc = hn::Zero(df);
  float tail = 0.0f;
  ForEach(n, [&](size_t i) { acc = hn::Add(acc, hn::LoadU(df, x + i)); }, [&](size_t i) { tail += x[i]; });
  const float mean = (hn::GetLane(hn::SumOfLanes(df, acc)) + tail) / static_cast<float>(n);
  const auto vm = hn::Set(df, mean);
  auto vacc = hn::Zero(df);
  float vtail = 0.0f;
  ForEach(n, [&](size_t i) { const auto d = hn::Sub(hn::LoadU(df, x + i), vm); vacc = hn::MulAdd(d, d, vacc); },
          [&](size_t i) { vtail += (x[i] - mean) * (x[i] - mean); });
  const float var = (hn::GetLane(hn::SumOfLanes(df, vacc)) + vtail) / static_cast<float>(n);
  const float inv = 1.0f / std::sqrt(var + eps);
  const auto vi = hn::Set(df, inv);
  ForEach(n, [&](size_t i) {
    const auto normed = hn::Mul(hn::Sub(hn::LoadU(df, x + i), vm), vi);
    hn::StoreU(hn::MulAdd(normed, hn::LoadU(df, w + i), hn::LoadU(df, b + i)), df, out + i);
  }, [&](size_t i) { out[i] = (x[i] - mean) * inv * w[i] + b[i]; });
}

void SiluMul(const float* gate, const float* up, float* out, size_t n) {
  const DF df;
  const auto one = hn::Set(df, 1.0f);
  ForEach(n, [&](size_t i) {
    const auto g = hn::LoadU(df, gate + i);
    const auto sig = hn::Div(one, hn::Add(one, hn::Exp(df, hn::Neg(g))));
    hn::StoreU(hn::Mul(hn::Mul(g, sig), hn::LoadU(df, up + i)), df, out + i);
  }, [&](size_t i) { out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i]; });
}

// a * b + c: fused where the target has it (the wasm relaxed build through f32x4.relaxed_madd;
// Highway 1.0.3's WASM MulAdd is mul + add).
template <class V>
HWY_INLINE V Madd(V a, V b, V c) {
#if HWY_TARGET == HWY_WASM && defined(__wasm_relaxed_simd__)
  return V{wasm_relaxed::madd(a.raw, b.raw, c.raw)};
#else
  return hn::MulAdd(a, b, c);
#endif
}

// max(v, lo) and min(v, hi) for clamping (no NaN in the way): wasm's f32x4.max and min propagate
// NaN and order -0 below +0, which V8 lowers to ~8 instructions each; pmax and pmin are maxps and
// minps.
template <class V>
HWY_INLINE V AtLeast(V v, V lo) {
#if HWY_TARGET == HWY_WASM
  return V{wasm_f32x4_pmax(v.raw, lo.raw)};
#else
  return hn::Max(v, lo);
#endif
}
template <class V>
HWY_INLINE V AtMost(V v, V hi) {
#if HWY_TARGET == HWY_WASM
  return V{wasm_f32x4_pmin(v.raw, hi.raw)};
#else
  return hn::Min(v, hi);
#endif
}

// exp(y) for y <= 0 (below -87 it gives exp(-87)), Cephes expf: y = k ln2 + r with ln2 in two
// parts, exp(r) by a degree-6 polynomial, times 2^k. k is rounded by adding 1.5 * 2^23 and 2^k
// built from that sum's bits, with no float-to-int conversion (i32x4.trunc_sat needs fix-ups on
// x86, and Highway's Exp does two).
template <class V>
HWY_INLINE V ExpNonPositive(DF df, V y) {
  const hn::RebindToSigned<DF> di;
  const V magic = hn::Set(df, 12582912.0f);  // 1.5 * 2^23
  y = AtLeast(y, hn::Set(df, -87.0f));
  const V shifted = Madd(y, hn::Set(df, 1.44269504088896341f), magic);  // 1.5 * 2^23 + round(y / ln2)
  const V k = hn::Sub(shifted, magic);
  V r = Madd(k, hn::Set(df, -0.693359375f), y);
  r = Madd(k, hn::Set(df, 2.12194440e-4f), r);
  V p = hn::Set(df, 1.9875691500e-4f);
  p = Madd(p, r, hn::Set(df, 1.3981999507e-3f));
  p = Madd(p, r, hn::Set(df, 8.3334519073e-3f));
  p = Madd(p, r, hn::Set(df, 4.1665795894e-2f));
  p = Madd(p, r, hn::Set(df, 1.6666665459e-1f));
  p = Madd(p, r, hn::Set(df, 5.0000001201e-1f));
  p = Madd(hn::Mul(p, r), r, hn::Add(r, hn::Set(df, 1.0f)));
  // shifted's bits are 0x4B400000 + k: (k + 127) << 23 is 2^k (k >= -126 here).
  const auto biased = hn::Add(hn::BitCast(di, shifted), hn::Set(di, 127 - 0x400000));
  return hn::Mul(p, hn::BitCast(df, hn::ShiftLeft<23>(biased)));
}

// x Phi(x) to ~1e-7 anywhere, Phi the normal CDF: Phi(-|x|) = erfc(|x| / sqrt 2) / 2 by Numerical
// Recipes' erfcc (a Chebyshev fit, fractional error < 1.2e-7), used as it is below zero (no
// cancellation) and as 1 - Phi(-x) above.
template <class V>
HWY_INLINE V GeluAccurate(DF df, V v) {
  constexpr float c[] = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
                         -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};
  const V z = hn::Mul(hn::Abs(v), hn::Set(df, 0.70710678118654752f));
  const V t = hn::Div(hn::Set(df, 1.0f), Madd(hn::Set(df, 0.5f), z, hn::Set(df, 1.0f)));
  V p = hn::Set(df, c[0]);
  for (size_t i = 1; i < 10; ++i) p = Madd(p, t, hn::Set(df, c[i]));
  // erfc(z) = t exp(p(t) - z^2)
  const V half_erfc = hn::Mul(hn::Mul(hn::Set(df, 0.5f), t), ExpNonPositive(df, hn::Sub(p, hn::Mul(z, z))));
  return hn::Mul(v, hn::IfThenElse(hn::Lt(v, hn::Zero(df)), half_erfc, hn::Sub(hn::Set(df, 1.0f), half_erfc)));
}

// GELU, 0.5 x (1 + erf(x / sqrt 2)), with erf(a) = a P(a^2) / Q(a^2) (Eigen's and XLA's fast erf
// for floats, a clamped to +-3.85): no exp, 5x cheaper in wasm than GeluAccurate. Its error grows
// where erf nears -1 and 1 + erf cancels: within 4.5e-7 of x Phi(x) (relative to 1 + |result|)
// for x >= -3, so a vector with a lane below -3 (1 in 10 of MiniLM's) takes GeluAccurate instead.
// Four vectors a step, whose independent chains the core overlaps.
void GeluErfInplace(float* x, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  using V = hn::Vec<DF>;
  constexpr float alpha[] = {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f, -5.69250639462346e-05f,
                             -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f};
  constexpr float beta[] = {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f, -7.37332916720468e-03f,
                            -1.42647390514189e-02f};
  auto gelu = [&](float* at, auto n_vec) {
    constexpr size_t U = decltype(n_vec)::value;
    V v[U], a[U], a2[U], num[U], den[U];
    for (size_t j = 0; j < U; ++j) {
      v[j] = hn::LoadU(df, at + j * N);
      a[j] = hn::Mul(v[j], hn::Set(df, 0.70710678118654752f));
      a[j] = AtMost(AtLeast(a[j], hn::Set(df, -3.85f)), hn::Set(df, 3.85f));
      a2[j] = hn::Mul(a[j], a[j]);
      num[j] = hn::Set(df, alpha[0]);
      den[j] = hn::Set(df, beta[0]);
    }
    for (size_t i = 1; i < 7; ++i) {
      for (size_t j = 0; j < U; ++j) num[j] = Madd(num[j], a2[j], hn::Set(df, alpha[i]));
      if (i < 5) {
        for (size_t j = 0; j < U; ++j) den[j] = Madd(den[j], a2[j], hn::Set(df, beta[i]));
      }
    }
    for (size_t j = 0; j < U; ++j) {
      if (hn::AllFalse(df, hn::Lt(v[j], hn::Set(df, -3.0f)))) {
        const V erf = hn::Div(hn::Mul(num[j], a[j]), den[j]);
        const V half = hn::Mul(v[j], hn::Set(df, 0.5f));
        hn::StoreU(Madd(half, erf, half), df, at + j * N);
      } else {
        hn::StoreU(GeluAccurate(df, v[j]), df, at + j * N);
      }
    }
  };
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) gelu(x + i, std::integral_constant<size_t, 4>());
  for (; i + N <= n; i += N) gelu(x + i, std::integral_constant<size_t, 1>());
  for (; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void SoftmaxInplace(float* x, size_t n) {
  const DF df;
  float mx = x[0];
  for (size_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  const auto vmx = hn::Set(df, mx);
  auto acc = hn::Zero(df);
  float tail = 0.0f;
  ForEach(n, [&](size_t i) {
    const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), vmx));
    hn::StoreU(e, df, x + i);
    acc = hn::Add(acc, e);
  }, [&](size_t i) { x[i] = std::exp(x[i] - mx); tail += x[i]; });
  Scale(x, 1.0f / (hn::GetLane(hn::SumOfLanes(df, acc)) + tail), n);
}

// Four independent multiply-add chains at a time in both products (four keys' dot products; four
// vectors of the output row), so the core overlaps them rather than waiting on one.
void AttendHead(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, const float* HWY_RESTRICT v, size_t stride,
                size_t n, size_t hd, float scale, float* HWY_RESTRICT out, size_t out_stride, float* HWY_RESTRICT p) {
  if (n == 0) return;
  const DF df;
  const size_t N = hn::Lanes(df), hd_vec = hd / N * N;
  using V = hn::Vec<DF>;
  auto dot = [&](const float* a, const float* b) {  // the tail past whole vectors
    float s = 0.0f;
    for (size_t e = hd_vec; e < hd; ++e) s += a[e] * b[e];
    return s;
  };
  for (size_t i = 0; i < n; ++i) {
    const float* qi = q + i * stride;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
      V acc[4] = {hn::Zero(df), hn::Zero(df), hn::Zero(df), hn::Zero(df)};
      for (size_t e = 0; e < hd_vec; e += N) {
        const V qv = hn::LoadU(df, qi + e);
        for (size_t u = 0; u < 4; ++u) acc[u] = Madd(qv, hn::LoadU(df, k + (j + u) * stride + e), acc[u]);
      }
      for (size_t u = 0; u < 4; ++u) p[j + u] = (hn::GetLane(hn::SumOfLanes(df, acc[u])) + dot(qi, k + (j + u) * stride)) * scale;
    }
    for (; j < n; ++j) {
      V acc = hn::Zero(df);
      for (size_t e = 0; e < hd_vec; e += N) acc = Madd(hn::LoadU(df, qi + e), hn::LoadU(df, k + j * stride + e), acc);
      p[j] = (hn::GetLane(hn::SumOfLanes(df, acc)) + dot(qi, k + j * stride)) * scale;
    }
    float mx = p[0];
    for (j = 1; j < n; ++j) mx = p[j] > mx ? p[j] : mx;
    // Softmax numerators exp(p - max) <= 1, whole vectors (the padding past n is -inf, so exp(-87)
    // there: below a rounding of the sum); their sum divides at the end.
    for (j = n; j % N != 0; ++j) p[j] = -HUGE_VALF;
    const V vmx = hn::Set(df, mx);
    V vsum = hn::Zero(df);
    for (j = 0; j < n; j += N) {
      const V e = ExpNonPositive(df, hn::Sub(hn::LoadU(df, p + j), vmx));
      hn::StoreU(e, df, p + j);
      vsum = hn::Add(vsum, e);
    }
    const float inv = 1.0f / hn::GetLane(hn::SumOfLanes(df, vsum));
    const V vinv = hn::Set(df, inv);
    float* o = out + i * out_stride;
    size_t e = 0;
    for (; e + 4 * N <= hd_vec; e += 4 * N) {
      V acc[4] = {hn::Zero(df), hn::Zero(df), hn::Zero(df), hn::Zero(df)};
      for (j = 0; j < n; ++j) {
        const V pj = hn::Set(df, p[j]);
        for (size_t u = 0; u < 4; ++u) acc[u] = Madd(pj, hn::LoadU(df, v + j * stride + e + u * N), acc[u]);
      }
      for (size_t u = 0; u < 4; ++u) hn::StoreU(hn::Mul(acc[u], vinv), df, o + e + u * N);
    }
    for (; e < hd_vec; e += N) {
      V acc = hn::Zero(df);
      for (j = 0; j < n; ++j) acc = Madd(hn::Set(df, p[j]), hn::LoadU(df, v + j * stride + e), acc);
      hn::StoreU(hn::Mul(acc, vinv), df, o + e);
    }
    for (; e < hd; ++e) {
      float acc = 0.0f;
      for (j = 0; j < n; ++j) acc += p[j] * v[j * stride + e];
      o[e] = acc * inv;
    }
  }
}

void L2NormalizeInplace(float* x, size_t n) {
  const float norm = std::sqrt(SumSquares(x, n));
  Scale(x, 1.0f / (norm > 1e-12f ? norm : 1e-12f), n);
}

// Highway 1.0 emulates f32 -> f16 where the target has no conversion instruction (wasm, SSE4,
// emulated and scalar targets) by truncating the mantissa; the KV cache's halves must round to
// nearest even as F16C and NEON do, or wasm and native decode drift apart.
constexpr bool kHalfDemoteRounds = HWY_TARGET != HWY_WASM && HWY_TARGET != HWY_WASM_EMU256 &&
                                   HWY_TARGET != HWY_SSE4 && HWY_TARGET != HWY_SSSE3 &&
                                   HWY_TARGET != HWY_EMU128 && HWY_TARGET != HWY_SCALAR;

void F32ToF16(const float* x, uint16_t* y, size_t n) {
#if HWY_TARGET == HWY_WASM
  size_t i = 0;  // cpu/wasm_f16.h: the rounding float_to_half does, eight at a time
  for (; i + 8 <= n; i += 8) {
    wasm_v128_store(y + i, wasm_u16x8_narrow_i32x4(wasm_f16::halves_rne(wasm_v128_load(x + i)),
                                                   wasm_f16::halves_rne(wasm_v128_load(x + i + 4))));
  }
  for (; i < n; ++i) y[i] = float_to_half(x[i]);
  return;
#endif
  if constexpr (!kHalfDemoteRounds) {  // SSE4 and below: a KV row per token, the scalar rounding is cheap
    for (size_t i = 0; i < n; ++i) y[i] = float_to_half(x[i]);
    return;
  }
  const DF df;
  const DH dh;
  ForEach(n, [&](size_t i) { hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, x + i)), dh, reinterpret_cast<hwy::float16_t*>(y + i)); },
          [&](size_t i) { y[i] = float_to_half(x[i]); });
}

void F16RoundInplace(float* x, size_t n) {
#if HWY_TARGET == HWY_WASM
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(x + i, wasm_f16::floats_from_halves(wasm_f16::halves_rne(wasm_v128_load(x + i))));
  }
  for (; i < n; ++i) x[i] = half_to_float(float_to_half(x[i]));
  return;
#endif
  if constexpr (!kHalfDemoteRounds) {
    for (size_t i = 0; i < n; ++i) x[i] = half_to_float(float_to_half(x[i]));
    return;
  }
  const DF df;
  const DH dh;
  ForEach(n, [&](size_t i) { hn::StoreU(hn::PromoteTo(df, hn::DemoteTo(dh, hn::LoadU(df, x + i))), df, x + i); },
          [&](size_t i) { x[i] = half_to_float(float_to_half(x[i])); });
}

}  // namespace webaccel::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace webaccel::cpu {

HWY_EXPORT(AxpyF16);
HWY_EXPORT(AxpyF16Rows);
HWY_EXPORT(Scale);
HWY_EXPORT(AddInplace);
HWY_EXPORT(RmsNorm);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(SiluMul);
HWY_EXPORT(GeluErfInplace);
HWY_EXPORT(SoftmaxInplace);
HWY_EXPORT(AttendHead);
HWY_EXPORT(L2NormalizeInplace);
HWY_EXPORT(F32ToF16);
HWY_EXPORT(F16RoundInplace);

void axpy_f16(float a, const uint16_t* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(AxpyF16)(a, x, y, n); }
void axpy_f16_rows(const float* w, size_t w_stride, const uint16_t* x, size_t stride, size_t n_rows, float* y, size_t y_stride,
                   size_t n_y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AxpyF16Rows)(w, w_stride, x, stride, n_rows, y, y_stride, n_y, n);
}
void scale(float* y, float a, size_t n) { HWY_DYNAMIC_DISPATCH(Scale)(y, a, n); }
void add_inplace(float* y, const float* a, size_t n) { HWY_DYNAMIC_DISPATCH(AddInplace)(y, a, n); }
void rms_norm(const float* x, const float* w, float eps, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, w, eps, out, n);
}
void layer_norm(const float* x, const float* w, const float* b, float eps, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(LayerNorm)(x, w, b, eps, out, n);
}
void silu_mul(const float* gate, const float* up, float* out, size_t n) { HWY_DYNAMIC_DISPATCH(SiluMul)(gate, up, out, n); }
void gelu_erf_inplace(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(GeluErfInplace)(x, n); }
void softmax_inplace(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(SoftmaxInplace)(x, n); }
void attend_head(const float* q, const float* k, const float* v, size_t stride, size_t n, size_t head_dim, float scale,
                 float* out, size_t out_stride, float* scratch) {
  HWY_DYNAMIC_DISPATCH(AttendHead)(q, k, v, stride, n, head_dim, scale, out, out_stride, scratch);
}
void l2_normalize_inplace(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(L2NormalizeInplace)(x, n); }
void f32_to_f16(const float* x, uint16_t* y, size_t n) { HWY_DYNAMIC_DISPATCH(F32ToF16)(x, y, n); }
void f16_round_inplace(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(F16RoundInplace)(x, n); }

}  // namespace webaccel::cpu
#endif
