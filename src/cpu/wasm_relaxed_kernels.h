// Kernels of the wasm relaxed-SIMD build (int8 dot products, FMA), reached from the Highway
// kernels' WASM target. Declared everywhere, defined only when compiling with -mrelaxed-simd.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/ggml_types.h"

namespace webaccel::cpu::wasm_relaxed {

// dot_rows_tokens for Q4_0, Q4_1, Q8_0, WQ (2/3/4/8-bit) and F32 weights; false for any other type
// or shape (the caller falls back).
bool dot_rows_tokens(GgmlType type, const uint8_t* w, size_t row_bytes, size_t n_rows, const uint8_t* act,
                     size_t act_stride, size_t n_tokens, size_t n, float* out, size_t out_stride);

// F32 weights times f32 activations, 4 tokens x 2 rows per register tile.
void dot_rows_tokens_f32(const float* w, size_t row_stride, size_t n_rows, const float* x, size_t x_stride,
                         size_t n_tokens, size_t n, float* out, size_t out_stride);

float dot_f32(const float* a, const float* b, size_t n);

}  // namespace webaccel::cpu::wasm_relaxed
