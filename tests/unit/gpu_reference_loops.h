// Double-precision (or CPU-path) loops the GPU kernel tests compare against where the CPU has no
// standalone op: RoPE and attention; and the tolerance check they share.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace webaccel::gpu {

// Largest |got - want| / (abs_tol + rel_tol * |want|); <= 1 passes.
inline double worst_ratio(const std::vector<float>& got, const std::vector<float>& want, double abs_tol, double rel_tol) {
  double worst = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (abs_tol + rel_tol * std::abs(double(want[i]))));
  }
  return worst;
}

// llama.cpp's "norm" RoPE as the CPU path computes it (models/llama.cpp): adjacent pairs, angle
// advanced by repeated f32 multiplication.
inline void rope_reference(std::vector<float>& x, uint32_t tokens, uint32_t n_heads, uint32_t head_dim,
                           uint32_t n_rot, uint32_t pos0, float base) {
  const float theta_scale = std::pow(base, -2.0f / static_cast<float>(n_rot));
  for (uint32_t t = 0; t < tokens; ++t) {
    float theta = static_cast<float>(pos0 + t);
    for (uint32_t i = 0; i < n_rot / 2; ++i) {
      const float c = std::cos(theta), s = std::sin(theta);
      for (uint32_t h = 0; h < n_heads; ++h) {
        float* v = &x[(size_t{t} * n_heads + h) * head_dim + 2 * i];
        const float x0 = v[0], x1 = v[1];
        v[0] = x0 * c - x1 * s;
        v[1] = x0 * s + x1 * c;
      }
      theta *= theta_scale;
    }
  }
}

// out(tokens, n_head * hd) = softmax(q kᵀ * scale) v in double over cache rows [0, pos0 + t]
// (causal) or [0, n_kv); q (tokens, n_head * hd), caches (n_ctx, n_head_kv * hd).
inline std::vector<float> attention_reference(const std::vector<float>& q, const std::vector<float>& kc,
                                              const std::vector<float>& vc, uint32_t tokens, uint32_t n_head,
                                              uint32_t n_head_kv, uint32_t hd, uint32_t pos0, uint32_t n_kv,
                                              bool causal, float scale) {
  const uint32_t kv_dim = n_head_kv * hd, group = n_head / n_head_kv;
  std::vector<float> out(size_t{tokens} * n_head * hd);
  for (uint32_t t = 0; t < tokens; ++t) {
    const uint32_t n_keys = causal ? pos0 + t + 1 : n_kv;
    for (uint32_t h = 0; h < n_head; ++h) {
      const float* qv = &q[(size_t{t} * n_head + h) * hd];
      const uint32_t off = (h / group) * hd;
      std::vector<double> s(n_keys);
      double mx = -1e300, sum = 0.0;
      for (uint32_t j = 0; j < n_keys; ++j) {
        double d = 0.0;
        for (uint32_t i = 0; i < hd; ++i) d += double(qv[i]) * kc[size_t{j} * kv_dim + off + i];
        s[j] = d * scale;
        mx = std::max(mx, s[j]);
      }
      for (auto& v : s) sum += (v = std::exp(v - mx));
      for (uint32_t i = 0; i < hd; ++i) {
        double acc = 0.0;
        for (uint32_t j = 0; j < n_keys; ++j) acc += s[j] * vc[size_t{j} * kv_dim + off + i];
        out[(size_t{t} * n_head + h) * hd + i] = static_cast<float>(acc / sum);
      }
    }
  }
  return out;
}

}  // namespace webaccel::gpu
