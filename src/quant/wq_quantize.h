// Quantizes float rows into webaccel's WQ formats (cpu/wq_reference.h), choosing each group's
// scale and min by weighted least squares over a search of candidate ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "format/ggml_types.h"

namespace webaccel::quant {

// One row of n floats (n % group == 0). importance (n values, may be null) weights each column's
// squared error, e.g. the mean squared activation feeding that column on calibration text.
void quantize_row_wq(GgmlType type, const float* x, const float* importance, uint8_t* out, size_t n);

// A whole matrix (rows x cols, row-major floats) -> packed rows.
std::vector<uint8_t> quantize_matrix_wq(GgmlType type, const float* x, size_t rows, size_t cols,
                                        const float* importance, ThreadPool& pool);

size_t wq_row_bytes(GgmlType type, size_t n);
double wq_bits_per_weight(GgmlType type);

}  // namespace webaccel::quant
