// Measures one benchmark cell: load, first inference, then timed iterations. The native CPU cell
// runs in this process with the engine's C++ API; the others run where their backend lives (the
// CLI's WebGPU device, the wasm build in Node or a browser) and report the same clock readings.
#pragma once

#include <chrono>
#include <string>

#include "bench/backends.h"
#include "bench/measurement.h"
#include "bench/models.h"
#include "bench/variants.h"

namespace webaccel::bench {

struct Cell {
  ModelSpec model;
  BackendSpec backend;
  PrecisionRequest request;  // stored, or a quantized variant made before the cell runs
  PrecisionInfo precision;   // of the weights measured (filled from the variant)
  std::string weights_path;  // the GGUF, safetensors folder or package actually loaded
  int batch_size = 1;       // sequences per inference, run one after another (no batched kernels yet)
  int sequence_length = 32; // input tokens per sequence
  int decode_tokens = 16;   // generated tokens per sequence (text-generation models only)
  int iterations = 3;       // timed inferences after the first
  int threads = 1;
  std::chrono::seconds timeout{600};  // for a cell run by another process

  std::string label() const;  // "smollm2 wasm@chromium q4_1 b1 s32 t2"
};

// A measurement, or one with cell_status 'skipped' and the reason when the backend is absent here
// (no WebGPU adapter, the CLI fell back to the CPU). Errors (a crash, a timeout) are thrown.
Measurement run_cell(const Cell& cell);

}  // namespace webaccel::bench
