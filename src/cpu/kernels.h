// CPU kernels, dispatched at run time to the best SIMD target (Google Highway) the CPU has.
// Each kernel has a scalar twin in namespace reference (reference_ops.h) that tests compare with.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/ggml_types.h"

namespace webaccel::cpu {

// --- quantized matmul pieces -------------------------------------------------------------
// Quantizes one activation row (n % 32 == 0) into the block type weight_type is multiplied with
// (Q8_1 for Q4_1, Q8_0 for Q4_0/Q8_0, plain f32 for float weights).
void quantize_activation(GgmlType weight_type, const float* x, void* out, size_t n);
// out[r] = <weight row r, act> for r < n_rows; rows are row_bytes apart, n elements each.
void dot_rows(GgmlType weight_type, const uint8_t* w, size_t row_bytes, size_t n_rows, const void* act, size_t n,
              float* out);

// The same for several tokens: out[t * out_stride + r], activation rows act_stride bytes apart.
void dot_rows_tokens(GgmlType weight_type, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                     size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride);

// --- float vector ops --------------------------------------------------------------------
float dot_f32(const float* a, const float* b, size_t n);
float dot_f16_f32(const uint16_t* a_f16, const float* b, size_t n);
void axpy_f16(float a, const uint16_t* x_f16, float* y, size_t n);  // y += a * x
// out[g * out_stride + j] = dot_f16_f32(a + j * stride, b + g * b_stride, n) for j < n_rows, g < n_b,
// bit for bit (wasm: each row converted once for up to three vectors, several rows a pass). The
// query heads that share a KV head meet its keys this way.
void dot_f16_f32_rows(const uint16_t* a_f16, size_t stride, size_t n_rows, const float* b, size_t b_stride, size_t n_b,
                      size_t n, float* out, size_t out_stride);
// axpy_f16(w[g * w_stride + j], x + j * stride, y + g * y_stride, n) for j = 0 .. n_rows - 1 in that
// order, for each g < n_y, bit for bit (wasm: each row converted once for every g, a stretch of the
// ys kept in registers across the rows).
void axpy_f16_rows(const float* w, size_t w_stride, const uint16_t* x_f16, size_t stride, size_t n_rows, float* y,
                   size_t y_stride, size_t n_y, size_t n);
void scale(float* y, float a, size_t n);
void add_inplace(float* y, const float* a, size_t n);               // y += a
void rms_norm(const float* x, const float* w, float eps, float* out, size_t n);
void layer_norm(const float* x, const float* w, const float* b, float eps, float* out, size_t n);
void silu_mul(const float* gate, const float* up, float* out, size_t n);  // out = silu(gate) * up
void gelu_erf_inplace(float* x, size_t n);                               // exact (erf) GELU, as BERT uses
void softmax_inplace(float* x, size_t n);
// One head of bidirectional attention over n tokens: out_i = sum_j softmax_j(scale q_i . k_j) v_j
// for i, j < n. q, k and v rows are `stride` floats apart, head_dim floats each; out rows
// out_stride apart; scratch holds n floats rounded up to a multiple of 16.
void attend_head(const float* q, const float* k, const float* v, size_t stride, size_t n, size_t head_dim, float scale,
                 float* out, size_t out_stride, float* scratch);
void l2_normalize_inplace(float* x, size_t n);
void f32_to_f16(const float* x, uint16_t* y, size_t n);
void f16_round_inplace(float* x, size_t n);  // x = float(half(x))

// Name of the SIMD target chosen on this CPU (e.g. "AVX3_DL").
const char* simd_target_name();

}  // namespace webaccel::cpu
