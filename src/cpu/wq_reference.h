// webaccel's group-wise WQ formats: 2, 3, 4 or 8 bits per weight, groups of 32/64/128.
//
// A group of g weights is [fp16 d][fp16 m][codes], value = q * d + m with q in [0, 2^bits).
// Codes are packed per 32-element chunk (bytes per chunk = 4 * bits), never a byte per code:
//   8 bits: byte i = q[i]
//   4 bits: byte j = q[j] | q[j+16] << 4                                  (j < 16)
//   2 bits: byte j = q[j] | q[j+8] << 2 | q[j+16] << 4 | q[j+24] << 6     (j < 8)
//   3 bits: the low two bits as the 2-bit layout (8 bytes), then a 32-bit little-endian word
//           whose bit i is bit 2 of q[i] (4 bytes)
// Effective bits per weight, exactly: bits + 32 / g (the two fp16 per group).
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/ggml_types.h"

namespace webaccel::cpu::reference {

void wq_pack_chunk(int bits, const uint8_t* codes32, uint8_t* out);   // 32 codes -> 4 * bits bytes
void wq_unpack_chunk(int bits, const uint8_t* in, uint8_t* codes32);  // the inverse
void wq_dequantize_row(GgmlType type, const void* src, float* dst, size_t n);
// Dot of one WQ row with Q8_1 activations (n % group == 0).
float wq_dot_row(GgmlType type, const void* w, const void* act_q8_1, size_t n);

}  // namespace webaccel::cpu::reference
