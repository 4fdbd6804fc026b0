#include "gpu/submit_cadence.h"

#include <algorithm>

#include "core/error.h"

namespace webaccel::gpu {

SubmitCadenceTuner::SubmitCadenceTuner(std::vector<uint32_t> candidates, int steps_each)
    : candidates_(std::move(candidates)), steps_each_(steps_each), times_(candidates_.size()) {
  if (candidates_.empty() || steps_each_ < 1) fail(ErrorKind::kInternal, "submit cadence: no candidates or steps");
  chosen_ = candidates_.front();
  done_ = candidates_.size() == 1;
}

uint32_t SubmitCadenceTuner::cadence() const { return done_ ? chosen_ : candidates_[current_]; }

void SubmitCadenceTuner::step_started() {
  if (done_) return;
  start_ = std::chrono::steady_clock::now();
  started_ = true;
}

void SubmitCadenceTuner::step_finished() {
  if (done_ || !started_) return;
  started_ = false;
  record(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count());
}

void SubmitCadenceTuner::record(double ms) {
  if (done_) return;
  times_[current_].push_back(ms);
  if (static_cast<int>(times_[current_].size()) < steps_each_) return;
  if (++current_ < candidates_.size()) return;
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  size_t best = 0;
  for (size_t i = 1; i < candidates_.size(); i++) {
    if (median(times_[i]) < median(times_[best])) best = i;
  }
  chosen_ = candidates_[best];
  done_ = true;
}

}  // namespace webaccel::gpu
