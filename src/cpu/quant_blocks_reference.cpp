// Scalar reference: the oracle every SIMD kernel is tested against. Clarity over speed.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "cpu/quant_blocks.h"
#include "cpu/kquants_reference.h"
#include "cpu/wk_reference.h"
#include "cpu/wq_reference.h"

namespace webaccel::cpu {

GgmlType activation_type_for(GgmlType weight_type) {
  if (wq_params(weight_type) || wk_bits(weight_type)) return GgmlType::kQ8_1;  // the min term needs the block sums
  switch (weight_type) {
    case GgmlType::kQ4_1: return GgmlType::kQ8_1;
    case GgmlType::kQ4_0: case GgmlType::kQ8_0: return GgmlType::kQ8_0;
    default: return GgmlType::kF32;
  }
}

size_t activation_row_bytes(GgmlType weight_type, size_t n) {
  switch (activation_type_for(weight_type)) {
    case GgmlType::kQ8_1: return n / kQK * sizeof(BlockQ8_1);
    case GgmlType::kQ8_0: return n / kQK * sizeof(BlockQ8_0);
    default: return n * sizeof(float);
  }
}

namespace reference {

// Round half to even (the default FP mode), as the SIMD kernels and llama.cpp's x86 kernels do.
static int8_t round_to_int8(float v) { return static_cast<int8_t>(std::nearbyint(v)); }

void quantize_row_q8_0(const float* x, BlockQ8_0* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b) {
    float amax = 0.0f;
    for (size_t j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[b * kQK + j]));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    y[b].d = float_to_half(d);
    for (size_t j = 0; j < kQK; ++j) y[b].qs[j] = round_to_int8(x[b * kQK + j] * id);
  }
}

void quantize_row_q8_1(const float* x, BlockQ8_1* y, size_t n) {
  for (size_t b = 0; b < n / kQK; ++b) {
    float amax = 0.0f;
    for (size_t j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[b * kQK + j]));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (size_t j = 0; j < kQK; ++j) {
      y[b].qs[j] = round_to_int8(x[b * kQK + j] * id);
      sum += y[b].qs[j];
    }
    y[b].d = float_to_half(d);
    y[b].s = float_to_half(static_cast<float>(sum) * d);
  }
}

void dequantize_row(GgmlType type, const void* src, float* dst, size_t n) {
  if (wq_params(type)) {
    wq_dequantize_row(type, src, dst, n);
    return;
  }
  if (wk_bits(type)) {
    wk_dequantize_row(type, src, dst, n);
    return;
  }
  switch (type) {
    case GgmlType::kF32: std::memcpy(dst, src, n * sizeof(float)); return;
    case GgmlType::kF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = half_to_float(h[i]);
      return;
    }
    case GgmlType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_float(h[i]);
      return;
    }
    case GgmlType::kQ4_0: {
      const auto* blk = static_cast<const BlockQ4_0*>(src);
      for (size_t b = 0; b < n / kQK; ++b) {
        const float d = half_to_float(blk[b].d);
        for (size_t j = 0; j < kQK / 2; ++j) {
          dst[b * kQK + j] = static_cast<float>((blk[b].qs[j] & 0x0f) - 8) * d;
          dst[b * kQK + j + kQK / 2] = static_cast<float>((blk[b].qs[j] >> 4) - 8) * d;
        }
      }
      return;
    }
    case GgmlType::kQ4_1: {
      const auto* blk = static_cast<const BlockQ4_1*>(src);
      for (size_t b = 0; b < n / kQK; ++b) {
        const float d = half_to_float(blk[b].d);
        const float m = half_to_float(blk[b].m);
        for (size_t j = 0; j < kQK / 2; ++j) {
          dst[b * kQK + j] = static_cast<float>(blk[b].qs[j] & 0x0f) * d + m;
          dst[b * kQK + j + kQK / 2] = static_cast<float>(blk[b].qs[j] >> 4) * d + m;
        }
      }
      return;
    }
    case GgmlType::kQ8_0: {
      const auto* blk = static_cast<const BlockQ8_0*>(src);
      for (size_t b = 0; b < n / kQK; ++b) {
        const float d = half_to_float(blk[b].d);
        for (size_t j = 0; j < kQK; ++j) dst[b * kQK + j] = static_cast<float>(blk[b].qs[j]) * d;
      }
      return;
    }
    case GgmlType::kQ2_K: case GgmlType::kQ3_K: case GgmlType::kQ4_K: case GgmlType::kQ5_K: case GgmlType::kQ6_K:
      dequantize_row_kquant(type, src, dst, n);
      return;
    case GgmlType::kQ5_0: case GgmlType::kQ5_1: {
      // 5-bit codes: a nibble plus one bit of the 32-bit high mask; Q5_0 is centred on 16.
      const bool has_min = type == GgmlType::kQ5_1;
      const size_t bytes = has_min ? 24 : 22;
      for (size_t b = 0; b < n / kQK; ++b) {
        const auto* blk = static_cast<const uint8_t*>(src) + b * bytes;
        uint16_t dh, mh = 0;
        uint32_t qh;
        std::memcpy(&dh, blk, 2);
        if (has_min) std::memcpy(&mh, blk + 2, 2);
        std::memcpy(&qh, blk + (has_min ? 4 : 2), 4);
        const uint8_t* qs = blk + (has_min ? 8 : 6);
        const float d = half_to_float(dh), m = half_to_float(mh);
        for (size_t j = 0; j < kQK / 2; ++j) {
          const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4);
          const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
          dst[b * kQK + j] = has_min ? static_cast<float>(lo) * d + m : static_cast<float>(lo - 16) * d;
          dst[b * kQK + j + 16] = has_min ? static_cast<float>(hi) * d + m : static_cast<float>(hi - 16) * d;
        }
      }
      return;
    }
    case GgmlType::kIQ4_NL: {
      // Non-linear 4-bit: each nibble indexes a fixed table of 16 levels.
      static const int8_t kLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
      for (size_t b = 0; b < n / kQK; ++b) {
        const auto* blk = static_cast<const uint8_t*>(src) + b * 18;
        uint16_t dh;
        std::memcpy(&dh, blk, 2);
        const float d = half_to_float(dh);
        for (size_t j = 0; j < kQK / 2; ++j) {
          dst[b * kQK + j] = d * kLevels[blk[2 + j] & 0x0f];
          dst[b * kQK + j + 16] = d * kLevels[blk[2 + j] >> 4];
        }
      }
      return;
    }
    default:
      fail(ErrorKind::kFormat, "dequantize: unsupported tensor type " + std::string(ggml_type_name(type)));
  }
}

float dot_row(GgmlType weight_type, const void* w, const void* act, size_t n) {
  if (wq_params(weight_type)) return wq_dot_row(weight_type, w, act, n);
  if (wk_bits(weight_type)) return wk_dot_row(weight_type, w, act, n);
  const size_t nb = n / kQK;
  switch (weight_type) {
    case GgmlType::kQ4_0: {
      const auto* x = static_cast<const BlockQ4_0*>(w);
      const auto* y = static_cast<const BlockQ8_0*>(act);
      float sum = 0.0f;
      for (size_t b = 0; b < nb; ++b) {
        int sumi = 0;
        for (size_t j = 0; j < kQK / 2; ++j) {
          sumi += ((x[b].qs[j] & 0x0f) - 8) * y[b].qs[j];
          sumi += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + kQK / 2];
        }
        sum += half_to_float(x[b].d) * half_to_float(y[b].d) * static_cast<float>(sumi);
      }
      return sum;
    }
    case GgmlType::kQ4_1: {
      const auto* x = static_cast<const BlockQ4_1*>(w);
      const auto* y = static_cast<const BlockQ8_1*>(act);
      float sum = 0.0f;
      for (size_t b = 0; b < nb; ++b) {
        int sumi = 0;
        for (size_t j = 0; j < kQK / 2; ++j) {
          sumi += (x[b].qs[j] & 0x0f) * y[b].qs[j];
          sumi += (x[b].qs[j] >> 4) * y[b].qs[j + kQK / 2];
        }
        sum += half_to_float(x[b].d) * half_to_float(y[b].d) * static_cast<float>(sumi) +
               half_to_float(x[b].m) * half_to_float(y[b].s);
      }
      return sum;
    }
    case GgmlType::kQ8_0: {
      const auto* x = static_cast<const BlockQ8_0*>(w);
      const auto* y = static_cast<const BlockQ8_0*>(act);
      float sum = 0.0f;
      for (size_t b = 0; b < nb; ++b) {
        int sumi = 0;
        for (size_t j = 0; j < kQK; ++j) sumi += x[b].qs[j] * y[b].qs[j];
        sum += half_to_float(x[b].d) * half_to_float(y[b].d) * static_cast<float>(sumi);
      }
      return sum;
    }
    case GgmlType::kF32: case GgmlType::kF16: case GgmlType::kBF16: case GgmlType::kQ2_K: case GgmlType::kQ3_K:
    case GgmlType::kQ4_K: case GgmlType::kQ5_K: case GgmlType::kQ6_K: case GgmlType::kQ5_0: case GgmlType::kQ5_1:
    case GgmlType::kIQ4_NL: {
      // Float activations: dequantize the row, then a plain dot (exact, not fast).
      thread_local std::vector<float> row;
      row.resize(n);
      dequantize_row(weight_type, w, row.data(), n);
      const auto* y = static_cast<const float*>(act);
      double sum = 0.0;
      for (size_t i = 0; i < n; ++i) sum += static_cast<double>(row[i]) * y[i];
      return static_cast<float>(sum);
    }
    default:
      fail(ErrorKind::kFormat, "matmul: weights of type " + std::string(ggml_type_name(weight_type)) +
                                   " are not supported by the CPU backend yet");
  }
}

}  // namespace reference
}  // namespace webaccel::cpu
