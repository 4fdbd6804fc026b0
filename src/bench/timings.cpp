#include "bench/timings.h"

#include <cmath>
#include <numeric>

#include "bench/runner.h"

namespace webaccel::bench {

void fill_stats(const Cell& c, const Timings& t, Measurement& m) {
  const double n = static_cast<double>(t.iteration_ms.size());
  const double mean = std::accumulate(t.iteration_ms.begin(), t.iteration_ms.end(), 0.0) / n;
  double var = 0;
  for (double x : t.iteration_ms) var += (x - mean) * (x - mean);
  m.first_inference_time_ms = t.first_ms;
  m.average_inference_time_ms = mean;
  m.inference_time_stddev_ms = n > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  const bool generates = c.model.arch == "llama";
  const double tokens = static_cast<double>(c.batch_size) * (c.sequence_length + (generates ? c.decode_tokens : 0));
  m.tokens_per_second = tokens / (mean / 1000.0);
  if (!generates) return;
  const double sequences = static_cast<double>(c.batch_size) * n;
  if (t.prefill_ms > 0) m.prefill_tokens_per_second = sequences * c.sequence_length / (t.prefill_ms / 1000.0);
  if (c.decode_tokens > 0 && t.decode_ms > 0) m.decode_tokens_per_second = sequences * c.decode_tokens / (t.decode_ms / 1000.0);
  m.decode_tokens = c.decode_tokens;
}

}  // namespace webaccel::bench
