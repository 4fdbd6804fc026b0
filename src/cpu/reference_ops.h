// Scalar reference of every float op: the oracle SIMD kernels are tested against.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/quant_blocks.h"

namespace webaccel::cpu::reference {

float dot_f32(const float* a, const float* b, size_t n);
float dot_f16_f32(const uint16_t* a_f16, const float* b, size_t n);
void axpy_f16(float a, const uint16_t* x_f16, float* y, size_t n);
void rms_norm(const float* x, const float* w, float eps, float* out, size_t n);
void layer_norm(const float* x, const float* w, const float* b, float eps, float* out, size_t n);
void silu_mul(const float* gate, const float* up, float* out, size_t n);
void gelu_erf_inplace(float* x, size_t n);
void softmax_inplace(float* x, size_t n);
void attend_head(const float* q, const float* k, const float* v, size_t stride, size_t n, size_t head_dim, float scale,
                 float* out, size_t out_stride);
void l2_normalize_inplace(float* x, size_t n);
void quantize_activation(GgmlType weight_type, const float* x, void* out, size_t n);

}  // namespace webaccel::cpu::reference
