// A native WebGPU cell, run through the CLI's own `--backend webgpu` (`webaccel generate` for
// text generation, `webaccel embed` for encoders): one process per sequence, each reporting its
// timings and the backend that really ran. A CLI that fell back to the CPU gives a skipped cell.
#pragma once

#include "bench/measurement.h"

namespace webaccel::bench {

struct Cell;
void run_cli_webgpu_cell(const Cell& c, Measurement& m);

}  // namespace webaccel::bench
