#include "quant/wq_quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/fp16.h"
#include "cpu/wq_reference.h"

namespace webaccel::quant {
namespace {

struct Fit {
  float d, m;
};

// Candidate ranges from slightly wider to narrower than [min, max]; for each, codes by rounding
// and then the weighted least-squares d and m for those codes. The best fit wins.
Fit fit_group(const float* x, const float* w, int n, int qmax) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (hi - lo < 1e-30f) return {0.0f, lo};
  Fit best{(hi - lo) / static_cast<float>(qmax), lo};
  double best_err = std::numeric_limits<double>::infinity();
  constexpr int kSteps = 24;
  for (int step = 0; step <= kSteps; ++step) {
    const float iscale = (static_cast<float>(qmax) - 1.0f + 0.1f * static_cast<float>(step)) / (hi - lo);
    double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      const float q = std::clamp(std::nearbyint(iscale * (x[i] - lo)), 0.0f, static_cast<float>(qmax));
      sw += w[i];
      sq += w[i] * q;
      sqq += w[i] * q * q;
      sx += w[i] * x[i];
      sqx += w[i] * q * x[i];
    }
    const double det = sw * sqq - sq * sq;
    if (det <= 0) continue;
    const float d = static_cast<float>((sw * sqx - sq * sx) / det);
    const float m = static_cast<float>((sqq * sx - sq * sqx) / det);
    if (!(d > 0.0f)) continue;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const float q = std::clamp(std::nearbyint((x[i] - m) / d), 0.0f, static_cast<float>(qmax));
      const double e = q * d + m - x[i];
      err += w[i] * e * e;
    }
    if (err < best_err) {
      best_err = err;
      best = {d, m};
    }
  }
  return best;
}

}  // namespace

size_t wq_row_bytes(GgmlType type, size_t n) {
  const auto t = *ggml_type_traits(static_cast<uint32_t>(type));
  return n / t.block_elems * t.block_bytes;
}

double wq_bits_per_weight(GgmlType type) {
  const auto t = *ggml_type_traits(static_cast<uint32_t>(type));
  return 8.0 * static_cast<double>(t.block_bytes) / static_cast<double>(t.block_elems);
}

void quantize_row_wq(GgmlType type, const float* x, const float* importance, uint8_t* out, size_t n) {
  const auto p = wq_params(type);
  if (!p) fail(ErrorKind::kInternal, "quantize_row_wq: not a WQ type");
  if (n % static_cast<size_t>(p->group) != 0) {
    fail(ErrorKind::kInput, "row length " + std::to_string(n) + " is not a multiple of the group size " + std::to_string(p->group));
  }
  const int qmax = (1 << p->bits) - 1;
  const size_t chunk_bytes = 4 * static_cast<size_t>(p->bits);
  std::vector<float> w(p->group, 1.0f);
  uint8_t codes[32];
  for (size_t g = 0; g < n / p->group; ++g) {
    const float* xg = x + g * p->group;
    if (importance) {
      // A floor keeps columns never seen in calibration from being ignored entirely.
      float mean = 0.0f;
      for (int i = 0; i < p->group; ++i) mean += importance[g * p->group + i];
      mean /= static_cast<float>(p->group);
      for (int i = 0; i < p->group; ++i) w[i] = importance[g * p->group + i] + 0.01f * mean + 1e-12f;
    }
    Fit f = fit_group(xg, w.data(), p->group, qmax);
    // Codes are chosen with the fp16-rounded d and m that the reader will use.
    const uint16_t dh = float_to_half(f.d), mh = float_to_half(f.m);
    const float d = half_to_float(dh), m = half_to_float(mh);
    uint8_t* grp = out + g * (4 + p->group / 32 * chunk_bytes);
    std::memcpy(grp, &dh, 2);
    std::memcpy(grp + 2, &mh, 2);
    for (int c = 0; c < p->group / 32; ++c) {
      for (int i = 0; i < 32; ++i) {
        const float v = xg[c * 32 + i];
        codes[i] = d > 0.0f ? static_cast<uint8_t>(std::clamp(std::nearbyint((v - m) / d), 0.0f, static_cast<float>(qmax))) : 0;
      }
      cpu::reference::wq_pack_chunk(p->bits, codes, grp + 4 + c * chunk_bytes);
    }
  }
}

std::vector<uint8_t> quantize_matrix_wq(GgmlType type, const float* x, size_t rows, size_t cols, const float* importance,
                                        ThreadPool& pool) {
  const size_t row_bytes = wq_row_bytes(type, cols);
  std::vector<uint8_t> out(rows * row_bytes);
  pool.parallel_for(rows, 4, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) quantize_row_wq(type, x + r * cols, importance, out.data() + r * row_bytes, cols);
  });
  return out;
}

}  // namespace webaccel::quant
