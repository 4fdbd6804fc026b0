// webaccel's WK super-block formats: 2, 3 or 4 bits per weight plus 2/3 of a bit of scales.
//
// A super-block of 192 weights is
//   [fp16 d][fp16 dmin][12 bytes: sub-block k has scale code k & 0xF, min code k >> 4][codes]
// and weight i of sub-block k (16 weights) is  q * (d * scale_k) - dmin * min_k,  q in [0, 2^bits).
// Codes are packed per 32-weight chunk exactly as the WQ formats pack them (cpu/wq_reference.h),
// so sub-blocks 2c and 2c+1 share chunk c. Bytes per super-block: 16 + 24 * bits.
#pragma once

#include <cstddef>

#include "format/ggml_types.h"

namespace webaccel::cpu::reference {

void wk_dequantize_row(GgmlType type, const void* src, float* dst, size_t n);
// Dot with Q8_1 activations (n % 192 == 0).
float wk_dot_row(GgmlType type, const void* w, const void* act_q8_1, size_t n);

}  // namespace webaccel::cpu::reference
