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

// Least-squares d >= 0 for x ~ q * d - m with m >= 0 fixed by the caller's range choice: the
// WK formats store only non-negative mins, so a sub-block whose minimum is positive uses m = 0.
Fit fit_nonpositive_min(const float* x, const float* w, int n, int qmax) {
  Fit f = fit_group(x, w, n, qmax);
  if (f.m <= 0.0f) return f;
  double num = 0, den = 0;
  float hi = 0;
  for (int i = 0; i < n; ++i) hi = std::max(hi, x[i]);
  const float d0 = hi / static_cast<float>(qmax);
  for (int i = 0; i < n; ++i) {
    const float q = d0 > 0 ? std::clamp(std::nearbyint(x[i] / d0), 0.0f, static_cast<float>(qmax)) : 0.0f;
    num += w[i] * q * x[i];
    den += w[i] * q * q;
  }
  return {den > 0 ? static_cast<float>(num / den) : 0.0f, 0.0f};
}

void quantize_row_wk(int bits, const float* x, const float* importance, uint8_t* out, size_t n) {
  const int qmax = (1 << bits) - 1;
  constexpr int kSubBlocks = static_cast<int>(kWkSuperBlock / 16);
  const size_t sb_bytes = 16 + 24 * static_cast<size_t>(bits);
  std::vector<float> w(16, 1.0f);
  uint8_t codes[32];
  for (size_t s = 0; s < n / kWkSuperBlock; ++s) {
    const float* xs = x + s * kWkSuperBlock;
    const float* imp = importance ? importance + s * kWkSuperBlock : nullptr;
    float sub_d[kSubBlocks], sub_m[kSubBlocks];  // per sub-block: scale and (positive) min to subtract
    for (int k = 0; k < kSubBlocks; ++k) {
      if (imp) {
        float mean = 0.0f;
        for (int i = 0; i < 16; ++i) mean += imp[k * 16 + i];
        for (int i = 0; i < 16; ++i) w[i] = imp[k * 16 + i] + 0.01f * mean / 16.0f + 1e-12f;
      }
      const Fit f = fit_nonpositive_min(xs + k * 16, w.data(), 16, qmax);
      sub_d[k] = std::max(f.d, 0.0f);
      sub_m[k] = std::max(-f.m, 0.0f);
    }
    // 4-bit codes for the sub-block scales and mins under fp16 super-scales.
    float max_d = 0, max_m = 0;
    for (int k = 0; k < kSubBlocks; ++k) max_d = std::max(max_d, sub_d[k]), max_m = std::max(max_m, sub_m[k]);
    const uint16_t dh = float_to_half(max_d / 15.0f), mh = float_to_half(max_m / 15.0f);
    const float d = half_to_float(dh), dmin = half_to_float(mh);
    uint8_t* sb = out + s * sb_bytes;
    std::memcpy(sb, &dh, 2);
    std::memcpy(sb + 2, &mh, 2);
    for (int k = 0; k < kSubBlocks; ++k) {
      const int sc = d > 0 ? static_cast<int>(std::clamp(std::nearbyint(sub_d[k] / d), 0.0f, 15.0f)) : 0;
      const int mc = dmin > 0 ? static_cast<int>(std::clamp(std::nearbyint(sub_m[k] / dmin), 0.0f, 15.0f)) : 0;
      sb[4 + k] = static_cast<uint8_t>(sc | mc << 4);
    }
    // Codes chosen with the scales the reader will use.
    for (int c = 0; c < kSubBlocks / 2; ++c) {
      for (int i = 0; i < 32; ++i) {
        const uint8_t code = sb[4 + 2 * c + i / 16];
        const float scale = d * static_cast<float>(code & 0xF), m = dmin * static_cast<float>(code >> 4);
        codes[i] = scale > 0 ? static_cast<uint8_t>(std::clamp(std::nearbyint((xs[c * 32 + i] + m) / scale), 0.0f, static_cast<float>(qmax))) : 0;
      }
      cpu::reference::wq_pack_chunk(bits, codes, sb + 16 + c * 4 * bits);
    }
  }
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
  if (auto bits = wk_bits(type)) {
    if (n % kWkSuperBlock != 0) {
      fail(ErrorKind::kInput, "row length " + std::to_string(n) + " is not a multiple of the super-block size " + std::to_string(kWkSuperBlock));
    }
    quantize_row_wk(*bits, x, importance, out, n);
    return;
  }
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
