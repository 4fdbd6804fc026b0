// SIMD float kernels (norms, activations, softmax, f16 conversions), one Highway source for
// every target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/vector_kernels_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <cmath>

#include "core/fp16.h"
#include "cpu/kernels.h"

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

// erfc(|x|) by the Chebyshev-fitted form of Numerical Recipes (fractional error < 1.2e-7),
// because Highway 1.0.3 has no Erf.
template <class V>
HWY_INLINE V ErfcAbs(DF df, V z) {
  const auto t = hn::Div(hn::Set(df, 1.0f), hn::MulAdd(hn::Set(df, 0.5f), z, hn::Set(df, 1.0f)));
  const float c[] = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
                     -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};
  auto p = hn::Set(df, c[0]);
  for (int k = 1; k < 10; ++k) p = hn::MulAdd(p, t, hn::Set(df, c[k]));
  return hn::Mul(t, hn::Exp(df, hn::Sub(p, hn::Mul(z, z))));
}

void GeluErfInplace(float* x, size_t n) {
  const DF df;
  const auto half = hn::Set(df, 0.5f);
  ForEach(n, [&](size_t i) {
    const auto v = hn::LoadU(df, x + i);
    const auto z = hn::Mul(hn::Abs(v), hn::Set(df, 0.70710678118654752f));
    const auto erfc = ErfcAbs(df, z);
    // erf(v/sqrt2) = sign(v) * (1 - erfc(|v|/sqrt2))
    const auto erf_abs = hn::Sub(hn::Set(df, 1.0f), erfc);
    const auto erf = hn::IfThenElse(hn::Lt(v, hn::Zero(df)), hn::Neg(erf_abs), erf_abs);
    hn::StoreU(hn::Mul(hn::Mul(half, v), hn::Add(hn::Set(df, 1.0f), erf)), df, x + i);
  }, [&](size_t i) { x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f)); });
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

void L2NormalizeInplace(float* x, size_t n) {
  const float norm = std::sqrt(SumSquares(x, n));
  Scale(x, 1.0f / (norm > 1e-12f ? norm : 1e-12f), n);
}

void F32ToF16(const float* x, uint16_t* y, size_t n) {
  const DF df;
  const DH dh;
  ForEach(n, [&](size_t i) { hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, x + i)), dh, reinterpret_cast<hwy::float16_t*>(y + i)); },
          [&](size_t i) { y[i] = float_to_half(x[i]); });
}

void F16RoundInplace(float* x, size_t n) {
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
HWY_EXPORT(Scale);
HWY_EXPORT(AddInplace);
HWY_EXPORT(RmsNorm);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(SiluMul);
HWY_EXPORT(GeluErfInplace);
HWY_EXPORT(SoftmaxInplace);
HWY_EXPORT(L2NormalizeInplace);
HWY_EXPORT(F32ToF16);
HWY_EXPORT(F16RoundInplace);

void axpy_f16(float a, const uint16_t* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(AxpyF16)(a, x, y, n); }
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
void l2_normalize_inplace(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(L2NormalizeInplace)(x, n); }
void f32_to_f16(const float* x, uint16_t* y, size_t n) { HWY_DYNAMIC_DISPATCH(F32ToF16)(x, y, n); }
void f16_round_inplace(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(F16RoundInplace)(x, n); }

}  // namespace webaccel::cpu
#endif
