// Bit allocation shared by every model: each matrix has candidate formats with a byte cost and a
// predicted loss (its measured sensitivity at a probe format, scaled by each format's
// importance-weighted squared error); a greedy pass spends a byte budget where it lowers the
// predicted loss most per byte.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/ggml_types.h"

namespace webaccel::quant {

constexpr GgmlType kProbeFormat = GgmlType::kWQ2_G64;

struct MatrixChoice {
  std::string name;
  size_t rows = 0, cols = 0;
  double sensitivity = 0;            // loss measured with this matrix alone at kProbeFormat
  std::vector<GgmlType> formats;     // cheapest first
  std::vector<double> error, bytes;  // per format
  double probe_error = 1e-30;
  size_t choice = 0;
  double loss(size_t c) const;
};

// Every WQ format whose group divides the row, cheapest first.
std::vector<GgmlType> candidate_formats(size_t cols);

// Importance-weighted squared error of quantizing a sample of rows of w (rows, cols), scaled to the
// whole matrix. importance may be null.
double sampled_error(GgmlType type, const float* w, size_t rows, size_t cols, const float* importance);

// Fills formats/error/bytes/probe_error of one matrix (sensitivity is the caller's).
MatrixChoice describe_matrix(const std::string& name, const float* w, size_t rows, size_t cols, const float* importance);

// Error(kInput) when even the cheapest formats exceed the budget.
void require_budget(double cheapest_bytes, double n_weights, double budget);

// Greedy allocation; returns a report (per tensor: format, sensitivity, predicted loss).
nlohmann::json allocate_bits(std::vector<MatrixChoice>& matrices, double budget);

}  // namespace webaccel::quant
