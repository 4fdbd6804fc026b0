#include "cpu/wq_reference.h"

#include <cstring>

#include "core/error.h"
#include "core/fp16.h"

namespace webaccel::cpu::reference {

void wq_pack_chunk(int bits, const uint8_t* q, uint8_t* out) {
  switch (bits) {
    case 8: std::memcpy(out, q, 32); return;
    case 4:
      for (int j = 0; j < 16; ++j) out[j] = static_cast<uint8_t>(q[j] | q[j + 16] << 4);
      return;
    case 2: case 3: {
      for (int j = 0; j < 8; ++j) {
        out[j] = static_cast<uint8_t>((q[j] & 3) | (q[j + 8] & 3) << 2 | (q[j + 16] & 3) << 4 | (q[j + 24] & 3) << 6);
      }
      if (bits == 3) {
        uint32_t high = 0;
        for (int i = 0; i < 32; ++i) high |= static_cast<uint32_t>((q[i] >> 2) & 1) << i;
        for (int k = 0; k < 4; ++k) out[8 + k] = static_cast<uint8_t>(high >> (8 * k));
      }
      return;
    }
    default: fail(ErrorKind::kInternal, "wq_pack_chunk: bits " + std::to_string(bits));
  }
}

void wq_unpack_chunk(int bits, const uint8_t* in, uint8_t* q) {
  switch (bits) {
    case 8: std::memcpy(q, in, 32); return;
    case 4:
      for (int j = 0; j < 16; ++j) {
        q[j] = in[j] & 0x0f;
        q[j + 16] = in[j] >> 4;
      }
      return;
    case 2: case 3:
      for (int j = 0; j < 8; ++j) {
        for (int k = 0; k < 4; ++k) q[j + 8 * k] = (in[j] >> (2 * k)) & 3;
      }
      if (bits == 3) {
        for (int i = 0; i < 32; ++i) q[i] |= static_cast<uint8_t>(((in[8 + i / 8] >> (i % 8)) & 1) << 2);
      }
      return;
    default: fail(ErrorKind::kInternal, "wq_unpack_chunk: bits " + std::to_string(bits));
  }
}

void wq_dequantize_row(GgmlType type, const void* src, float* dst, size_t n) {
  const auto p = *wq_params(type);
  const size_t chunk_bytes = 4 * static_cast<size_t>(p.bits), group_bytes = 4 + p.group / 32 * chunk_bytes;
  const auto* bytes = static_cast<const uint8_t*>(src);
  uint8_t q[32];
  for (size_t g = 0; g < n / p.group; ++g) {
    const uint8_t* grp = bytes + g * group_bytes;
    uint16_t dh, mh;
    std::memcpy(&dh, grp, 2);
    std::memcpy(&mh, grp + 2, 2);
    const float d = half_to_float(dh), m = half_to_float(mh);
    for (int c = 0; c < p.group / 32; ++c) {
      wq_unpack_chunk(p.bits, grp + 4 + c * chunk_bytes, q);
      for (int i = 0; i < 32; ++i) dst[g * p.group + c * 32 + i] = static_cast<float>(q[i]) * d + m;
    }
  }
}

float wq_dot_row(GgmlType type, const void* w, const void* act, size_t n) {
  const auto p = *wq_params(type);
  const size_t chunk_bytes = 4 * static_cast<size_t>(p.bits), group_bytes = 4 + p.group / 32 * chunk_bytes;
  const auto* bytes = static_cast<const uint8_t*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(act);
  uint8_t q[32];
  float sum = 0.0f;
  for (size_t g = 0; g < n / p.group; ++g) {
    const uint8_t* grp = bytes + g * group_bytes;
    uint16_t dh, mh;
    std::memcpy(&dh, grp, 2);
    std::memcpy(&mh, grp + 2, 2);
    float scaled = 0.0f, act_sum = 0.0f;
    for (int c = 0; c < p.group / 32; ++c) {
      const BlockQ8_1& a = y[g * p.group / 32 + c];
      wq_unpack_chunk(p.bits, grp + 4 + c * chunk_bytes, q);
      int32_t isum = 0;
      for (int i = 0; i < 32; ++i) isum += static_cast<int32_t>(q[i]) * a.qs[i];
      scaled += half_to_float(a.d) * static_cast<float>(isum);
      act_sum += half_to_float(a.s);
    }
    sum += half_to_float(dh) * scaled + half_to_float(mh) * act_sum;
  }
  return sum;
}

}  // namespace webaccel::cpu::reference
