// The clock readings of one cell, however it ran (in-process, the CLI, Node or a browser), turned
// into the stored figures the same way for every backend.
#pragma once

#include <vector>

#include "bench/measurement.h"

namespace webaccel::bench {

struct Cell;

struct Timings {
  double first_ms = 0;                 // the first inference (warm-up), not in the mean
  std::vector<double> iteration_ms;    // each timed inference: batch_size sequences
  double prefill_ms = 0, decode_ms = 0;  // summed over the timed inferences (text generation only)
};

// Mean, stddev, tokens/s and (for text generation) prefill and decode tokens/s.
void fill_stats(const Cell& c, const Timings& t, Measurement& m);

}  // namespace webaccel::bench
