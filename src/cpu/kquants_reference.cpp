// Scalar K-quant dequantization, bit-exact with ggml's dequantize_row_q{2,3,4,5,6}_K.
// Each value is (d * scale) * q - dmin * min as in ggml. Both products are exact in float (fp16 d has
// 11 significant bits, scale at most 7, q at most 6: 24 bits fit), so only the subtraction rounds and
// results match bitwise whatever the operation order or FMA contraction.
#include "cpu/kquants_reference.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/fp16.h"

namespace webaccel::cpu::reference {
namespace {

// Element e of a super-block (0..255) is addressed below as e = 128 * half + 32 * quarter + lane.
#pragma pack(push, 1)
struct BlockQ2_K {  // value = d * (scale & 15) * q - dmin * (scale >> 4), q in 0..3
  uint8_t scales[kQK_K / 16];  // per 16 elements: low nibble scale, high nibble min
  uint8_t qs[kQK_K / 4];       // 2-bit quants: byte 32 * half + lane, bits 2 * quarter
  uint16_t d;                  // fp16
  uint16_t dmin;               // fp16
};
struct BlockQ3_K {  // value = d * (scale - 32) * (q - (high bit ? 0 : 4)), q in 0..3
  uint8_t hmask[kQK_K / 8];  // high bit of element e: byte e % 32, bit e / 32
  uint8_t qs[kQK_K / 4];     // low 2 bits, packed as in Q2_K
  uint8_t scales[12];        // sixteen 6-bit scales, see q3_scale
  uint16_t d;
};
struct BlockQ4_K {  // value = d * scale * q - dmin * min, q in 0..15, one (scale, min) per 32 elements
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];     // eight 6-bit (scale, min) pairs, see q4_scale_min
  uint8_t qs[kQK_K / 2];  // element e: byte 32 * (e / 64) + lane, low nibble if (e / 32) is even
};
struct BlockQ5_K {  // Q4_K plus a fifth bit, q in 0..31
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];  // fifth bit of element e: byte e % 32, bit e / 32
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {  // value = d * scale * (q - 32), q in 0..63, one scale per 16 elements
  uint8_t ql[kQK_K / 2];       // low 4 bits: byte 64 * half + 32 * (quarter & 1) + lane, high nibble if quarter >= 2
  uint8_t qh[kQK_K / 4];       // high 2 bits: byte 32 * half + lane, bits 2 * quarter
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
#pragma pack(pop)
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

size_t half_of(size_t e) { return e / 128; }
size_t quarter_of(size_t e) { return e % 128 / 32; }
size_t lane_of(size_t e) { return e % 32; }

// Two bits of element e in the Q2_K / Q3_K qs packing.
int crumb(const uint8_t* qs, size_t e) { return (qs[32 * half_of(e) + lane_of(e)] >> (2 * quarter_of(e))) & 3; }

// Q3_K scale j: low 4 bits in the nibbles of bytes 0..7, high 2 bits in bytes 8..11.
int q3_scale(const uint8_t* s, size_t j) {
  const int low = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
  const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | high << 4) - 32;
}

// Q4_K / Q5_K (scale, min) of sub-block j: j < 4 whole in bytes j, j + 4; j >= 4 has its low
// nibbles in byte j + 4 and its top 2 bits in the spare top bits of bytes j - 4 (scale) and j (min).
void q4_scale_min(const uint8_t* s, size_t j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
    min = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
  }
}

void dequantize_block(const BlockQ2_K& b, float* y) {
  const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
  for (size_t e = 0; e < kQK_K; ++e) {
    const uint8_t sc = b.scales[e / 16];
    const float dl = d * static_cast<float>(sc & 15), ml = dmin * static_cast<float>(sc >> 4);
    y[e] = dl * static_cast<float>(crumb(b.qs, e)) - ml;
  }
}

void dequantize_block(const BlockQ3_K& b, float* y) {
  const float d = half_to_float(b.d);
  for (size_t e = 0; e < kQK_K; ++e) {
    const float dl = d * static_cast<float>(q3_scale(b.scales, e / 16));
    const bool high = (b.hmask[lane_of(e)] >> (e / 32)) & 1;
    y[e] = dl * static_cast<float>(crumb(b.qs, e) - (high ? 0 : 4));  // a set high bit means no offset
  }
}

// Q4_K and Q5_K share the scales and the nibble packing; Q5_K adds the fifth bit.
template <typename Block>
void dequantize_q4_or_q5(const Block& b, const uint8_t* fifth_bits, float* y) {
  const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
  for (size_t e = 0; e < kQK_K; ++e) {
    const size_t sub = e / 32;
    int scale, min;
    q4_scale_min(b.scales, sub, scale, min);
    const float dl = d * static_cast<float>(scale), ml = dmin * static_cast<float>(min);
    const uint8_t byte = b.qs[32 * (e / 64) + lane_of(e)];
    int q = sub % 2 == 0 ? byte & 15 : byte >> 4;
    if (fifth_bits != nullptr) q |= ((fifth_bits[lane_of(e)] >> sub) & 1) << 4;
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

void dequantize_block(const BlockQ4_K& b, float* y) { dequantize_q4_or_q5(b, nullptr, y); }
void dequantize_block(const BlockQ5_K& b, float* y) { dequantize_q4_or_q5(b, b.qh, y); }

void dequantize_block(const BlockQ6_K& b, float* y) {
  const float d = half_to_float(b.d);
  for (size_t e = 0; e < kQK_K; ++e) {
    const size_t half = half_of(e), quarter = quarter_of(e), lane = lane_of(e);
    const uint8_t low_byte = b.ql[64 * half + 32 * (quarter & 1) + lane];
    const int low = quarter < 2 ? low_byte & 15 : low_byte >> 4;
    const int high = (b.qh[32 * half + lane] >> (2 * quarter)) & 3;
    const float dl = d * static_cast<float>(b.scales[e / 16]);
    y[e] = dl * static_cast<float>((low | high << 4) - 32);
  }
}

template <typename Block>
void dequantize_blocks(const void* src, float* dst, size_t n) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n / kQK_K; ++i) {
    Block block;
    std::memcpy(&block, bytes + i * sizeof(Block), sizeof(Block));  // tensor data carries no alignment promise
    dequantize_block(block, dst + i * kQK_K);
  }
}

}  // namespace

void dequantize_row_kquant(GgmlType type, const void* src, float* dst, size_t n) {
  const std::string name(ggml_type_name(type));
  if (n % kQK_K != 0) {
    fail(ErrorKind::kFormat, "dequantize " + name + ": row of " + std::to_string(n) +
                                 " elements is not a multiple of the 256-element super-block");
  }
  switch (type) {
    case GgmlType::kQ2_K: return dequantize_blocks<BlockQ2_K>(src, dst, n);
    case GgmlType::kQ3_K: return dequantize_blocks<BlockQ3_K>(src, dst, n);
    case GgmlType::kQ4_K: return dequantize_blocks<BlockQ4_K>(src, dst, n);
    case GgmlType::kQ5_K: return dequantize_blocks<BlockQ5_K>(src, dst, n);
    case GgmlType::kQ6_K: return dequantize_blocks<BlockQ6_K>(src, dst, n);
    default:
      fail(ErrorKind::kFormat, "dequantize_row_kquant: " + name + " (type id " +
                                   std::to_string(static_cast<uint32_t>(type)) + ") is not a K-quant type");
  }
}

}  // namespace webaccel::cpu::reference
