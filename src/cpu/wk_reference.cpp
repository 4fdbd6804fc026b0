#include "cpu/wk_reference.h"

#include <cstdint>
#include <cstring>

#include "core/fp16.h"
#include "cpu/wq_reference.h"

namespace webaccel::cpu::reference {
namespace {

struct SuperBlockView {
  float d, dmin;
  const uint8_t* scales;  // 12 bytes
  const uint8_t* codes;   // 6 chunks of 4 * bits bytes
};

SuperBlockView view(const uint8_t* p) {
  uint16_t dh, mh;
  std::memcpy(&dh, p, 2);
  std::memcpy(&mh, p + 2, 2);
  return {half_to_float(dh), half_to_float(mh), p + 4, p + 16};
}

}  // namespace

void wk_dequantize_row(GgmlType type, const void* src, float* dst, size_t n) {
  const int bits = *wk_bits(type);
  const size_t sb_bytes = 16 + 24 * static_cast<size_t>(bits);
  uint8_t q[32];
  for (size_t s = 0; s < n / kWkSuperBlock; ++s) {
    const auto sb = view(static_cast<const uint8_t*>(src) + s * sb_bytes);
    for (int c = 0; c < 6; ++c) {
      wq_unpack_chunk(bits, sb.codes + c * 4 * bits, q);
      for (int i = 0; i < 32; ++i) {
        const uint8_t code = sb.scales[2 * c + i / 16];
        dst[s * kWkSuperBlock + c * 32 + i] = static_cast<float>(q[i]) * (sb.d * static_cast<float>(code & 0xF)) -
                                    sb.dmin * static_cast<float>(code >> 4);
      }
    }
  }
}

float wk_dot_row(GgmlType type, const void* w, const void* act, size_t n) {
  const int bits = *wk_bits(type);
  const size_t sb_bytes = 16 + 24 * static_cast<size_t>(bits);
  const auto* y = static_cast<const BlockQ8_1*>(act);
  uint8_t q[32];
  float sum = 0.0f;
  for (size_t s = 0; s < n / kWkSuperBlock; ++s) {
    const auto sb = view(static_cast<const uint8_t*>(w) + s * sb_bytes);
    float scaled = 0.0f, mins = 0.0f;
    for (int c = 0; c < 6; ++c) {
      const BlockQ8_1& a = y[s * 6 + c];
      wq_unpack_chunk(bits, sb.codes + c * 4 * bits, q);
      for (int half = 0; half < 2; ++half) {
        const uint8_t code = sb.scales[2 * c + half];
        int32_t qa = 0, asum = 0;
        for (int i = 16 * half; i < 16 * half + 16; ++i) qa += static_cast<int32_t>(q[i]) * a.qs[i], asum += a.qs[i];
        const float da = half_to_float(a.d);
        scaled += static_cast<float>(code & 0xF) * da * static_cast<float>(qa);
        mins += static_cast<float>(code >> 4) * da * static_cast<float>(asum);
      }
    }
    sum += sb.d * scaled - sb.dmin * mins;
  }
  return sum;
}

}  // namespace webaccel::cpu::reference
