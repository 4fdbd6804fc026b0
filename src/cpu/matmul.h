// y = x · Wᵀ with W kept in its stored (possibly block-quantized) format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "format/ggml_types.h"

namespace webaccel::cpu {

// A weight matrix as stored: rows are output features, each row `cols` elements in `type`.
struct WeightMatrix {
  GgmlType type = GgmlType::kF32;
  size_t rows = 0;       // output features
  size_t cols = 0;       // input features
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;

  const uint8_t* row(size_t r) const { return data + r * row_bytes; }
};

// Whether matmul takes weights of this type: its own kernels (F32, F16, Q4_0, Q4_1, Q8_0, the WQ/WK
// formats), or rows dequantized a tile at a time (BF16, Q5_0, Q5_1, K-quants, IQ4_NL).
bool matmul_supported(GgmlType t);

// Activations quantized once for every matrix that reads them (Q, K and V share one).
class QuantizedActivations {
 public:
  void quantize(GgmlType weight_type, const float* x, size_t n_tokens, size_t n, ThreadPool& pool);
  const void* row(size_t t) const { return buffer_.data() + t * row_bytes_; }
  size_t row_bytes() const { return row_bytes_; }
  GgmlType weight_type() const { return weight_type_; }

 private:
  std::vector<uint8_t> buffer_;
  size_t row_bytes_ = 0;
  GgmlType weight_type_ = GgmlType::kF32;
};

// out[t][r] (row stride out_stride) = <W row r, x[t]> for rows [r_begin, r_end) of W.
void matmul_rows(const WeightMatrix& w, const QuantizedActivations& x, size_t n_tokens, size_t r_begin, size_t r_end,
                 float* out, size_t out_stride);

// The whole product, rows split across the pool: out[n_tokens][w.rows].
void matmul(const WeightMatrix& w, const QuantizedActivations& x, size_t n_tokens, float* out, ThreadPool& pool);

}  // namespace webaccel::cpu
