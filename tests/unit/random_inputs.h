// Random test inputs shared by the kernel tests: normal floats that are never zero, so a kernel
// that skips or zeroes an element cannot pass by accident.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace webaccel::testing_inputs {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) {
    x = dist(rng);
    if (x == 0.0f) x = 0.5f;  // never zero
  }
  return v;
}

}  // namespace webaccel::testing_inputs
