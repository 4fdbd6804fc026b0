// How many layers a decode step records between submits, picked by timing real steps. Submitting
// early lets the GPU start while the CPU records the rest, but what it saves depends on the driver
// and the model: on an H200, 7B at 4 bits runs fastest submitting every 4 layers and 7B at 8 bits
// fastest with one submit per step (docs/benchmarks.md). Each candidate runs a few steps; the
// lowest median wall time wins and is kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace webaccel::gpu {

class SubmitCadenceTuner {
 public:
  // candidates: layers between submits (0: one submit per step), tried in this order, the first
  // being the default while nothing is measured; steps_each: timed steps per candidate.
  SubmitCadenceTuner(std::vector<uint32_t> candidates, int steps_each);

  uint32_t cadence() const;  // for the next step
  bool tuning() const { return !done_; }
  void step_started();       // a one-token step's recording begins
  void step_finished();      // its logits are back; ignored without a started step
  void record(double ms);    // one step's wall time at cadence() (what the two above do)

 private:
  std::vector<uint32_t> candidates_;
  int steps_each_;
  size_t current_ = 0;
  std::vector<std::vector<double>> times_;  // per candidate
  uint32_t chosen_ = 0;
  bool done_ = false;
  bool started_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace webaccel::gpu
