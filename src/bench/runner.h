// Measures one benchmark cell with the engine's C++ API: load, first inference, then timed
// iterations. Every figure comes from the clock and the kernel's peak-RSS counter of this run.
#pragma once

#include <string>

#include "bench/measurement.h"
#include "bench/models.h"
#include "bench/variants.h"

namespace webaccel::bench {

struct Cell {
  ModelSpec model;
  std::string backend = "cpu";
  PrecisionRequest request;  // stored, or a quantized variant made before the cell runs
  PrecisionInfo precision;   // of the weights measured (filled from the variant)
  std::string weights_path;  // the GGUF, safetensors folder or package actually loaded
  int batch_size = 1;       // sequences per inference, run one after another (no batched kernels yet)
  int sequence_length = 32; // input tokens per sequence
  int decode_tokens = 16;   // generated tokens per sequence (text-generation models only)
  int iterations = 3;       // timed inferences after the first
  int threads = 1;

  std::string label() const;  // "smollm2 cpu q4_1 b1 s32 t2"
};

Measurement run_cell(const Cell& cell);

}  // namespace webaccel::bench
