#include "gpu/decode_bench.h"

#include <algorithm>

#include "core/error.h"
#include "gpu/synthetic_llama.h"

namespace webaccel::gpu {

GgmlType checked_bench_type(const DecodeBenchRequest& r) {
  const std::string shapes = std::string(", ") + kSyntheticShapes + ",";
  if (r.shape.empty() || shapes.find(", " + r.shape + ",") == std::string::npos) {
    fail(ErrorKind::kUsage, "shape '" + r.shape + "' is not one of " + kSyntheticShapes);
  }
  const auto type = wq_type(r.bits, r.group);
  if (!type || r.group == 192) {  // 192: WK super-blocks, which synthetic models are not made in
    fail(ErrorKind::kUsage, "bits/group: no WQ format with " + std::to_string(r.bits) + " bits in groups of " +
                                std::to_string(r.group) + " (bits 2, 3, 4 or 8; group 32, 64 or 128)");
  }
  if (r.prompt < 1 || r.tokens < 2) fail(ErrorKind::kUsage, "prompt must be >= 1 and tokens >= 2");
  if (static_cast<uint64_t>(r.prompt) + static_cast<uint64_t>(r.tokens) > r.ctx) {
    fail(ErrorKind::kUsage, "prompt + tokens exceed ctx (" + std::to_string(r.ctx) + ")");
  }
  return *type;
}

std::vector<int32_t> bench_prompt(int n, uint32_t n_vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((static_cast<uint64_t>(i) * 7919 + 1) % n_vocab);
  return ids;
}

int argmax(std::span<const float> logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0.0 : values[values.size() / 2];
}

}  // namespace webaccel::gpu
