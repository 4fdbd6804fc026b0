#include "cpu/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/fp16.h"

namespace webaccel::cpu::reference {

float dot_f32(const float* a, const float* b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

float dot_f16_f32(const uint16_t* a_f16, const float* b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(half_to_float(a_f16[i])) * b[i];
  return static_cast<float>(s);
}

void axpy_f16(float a, const uint16_t* x_f16, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += a * half_to_float(x_f16[i]);
}

void rms_norm(const float* x, const float* w, float eps, float* out, size_t n) {
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

void layer_norm(const float* x, const float* w, const float* b, float eps, float* out, size_t n) {
  double mean = 0.0;
  for (size_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0.0;
  for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  const double inv = 1.0 / std::sqrt(var + eps);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>((x[i] - mean) * inv) * w[i] + b[i];
}

void silu_mul(const float* gate, const float* up, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_erf_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void softmax_inplace(float* x, size_t n) {
  const float mx = *std::max_element(x, x + n);
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

void attend_head(const float* q, const float* k, const float* v, size_t stride, size_t n, size_t head_dim, float scale,
                 float* out, size_t out_stride) {
  std::vector<double> p(n);
  for (size_t i = 0; i < n; ++i) {
    double mx = -HUGE_VAL, sum = 0.0;
    for (size_t j = 0; j < n; ++j) {
      double dot = 0.0;
      for (size_t e = 0; e < head_dim; ++e) dot += static_cast<double>(q[i * stride + e]) * k[j * stride + e];
      p[j] = dot * scale;
      mx = std::max(mx, p[j]);
    }
    for (size_t j = 0; j < n; ++j) sum += p[j] = std::exp(p[j] - mx);
    for (size_t e = 0; e < head_dim; ++e) {
      double acc = 0.0;
      for (size_t j = 0; j < n; ++j) acc += p[j] * v[j * stride + e];
      out[i * out_stride + e] = static_cast<float>(acc / sum);
    }
  }
}

void l2_normalize_inplace(float* x, size_t n) {
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  // Same floor as torch.nn.functional.normalize, so an all-zero vector stays zero.
  const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

void quantize_activation(GgmlType weight_type, const float* x, void* out, size_t n) {
  switch (activation_type_for(weight_type)) {
    case GgmlType::kQ8_1: quantize_row_q8_1(x, static_cast<BlockQ8_1*>(out), n); return;
    case GgmlType::kQ8_0: quantize_row_q8_0(x, static_cast<BlockQ8_0*>(out), n); return;
    default: std::memcpy(out, x, n * sizeof(float)); return;
  }
}

}  // namespace webaccel::cpu::reference
