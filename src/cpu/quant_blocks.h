// Block-quantized dot products and row (de)quantization: the contract shared by the scalar
// reference and the SIMD kernels. Activations are quantized to 8 bits per 32-element block
// (Q8_0, or Q8_1 which also carries d * sum(q)) so that dots are integer sums inside a block.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/ggml_types.h"

namespace webaccel::cpu {

// The activation block type a weight type is multiplied with.
GgmlType activation_type_for(GgmlType weight_type);
size_t activation_row_bytes(GgmlType weight_type, size_t n);

namespace reference {
void quantize_row_q8_0(const float* x, BlockQ8_0* y, size_t n);  // n % 32 == 0
void quantize_row_q8_1(const float* x, BlockQ8_1* y, size_t n);
void dequantize_row(GgmlType type, const void* src, float* dst, size_t n);  // every GGUF type we read
// Dot of one weight row (n elements, in its own format) with one activation row (in activation_type_for).
float dot_row(GgmlType weight_type, const void* w, const void* act, size_t n);
}  // namespace reference

}  // namespace webaccel::cpu
