// The exponent half of attention's softmax, shared by the f16 and f32 KV-cache paths.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace webaccel {

// p[j] = exp(p[j] - max p) in place; returns 1 / sum p, the sum in double as llama.cpp's CPU
// softmax adds it (the same floats keep greedy decoding on its tokens).
inline float exp_shifted_inplace(float* p, size_t n) {
  float row_max = -std::numeric_limits<float>::infinity();
  for (size_t j = 0; j < n; ++j) row_max = std::max(row_max, p[j]);
  double sum = 0.0;
  for (size_t j = 0; j < n; ++j) {
    p[j] = std::exp(p[j] - row_max);
    sum += p[j];
  }
  return static_cast<float>(1.0 / sum);
}

}  // namespace webaccel
