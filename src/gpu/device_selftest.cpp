#include "gpu/device_selftest.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "gpu/kernel_sources.h"

namespace webaccel::gpu {
namespace {

constexpr uint32_t kN = 1003;           // odd, not a multiple of the workgroup size
constexpr uint64_t kXOffset = 256;      // bytes: views start at minStorageBufferOffsetAlignment
constexpr uint64_t kYOffset = 512;
constexpr uint32_t kRingDispatches = 4099;  // more than the bridge's uniform ring holds per submit
constexpr uint64_t kAlign = 256;            // storage binding offsets are multiples of this

struct FillParams {
  uint32_t n;
  float bias;
  uint32_t pad0 = 0, pad1 = 0;
};

PipelineDesc fill_desc(double scale, double wg) {
  PipelineDesc d;
  d.key = "selftest_fill:scale=" + std::to_string(scale) + ":wg=" + std::to_string(static_cast<int>(wg));
  d.wgsl = std::string(kernel_source("selftest_fill"));
  d.constants = {{"scale", scale}, {"wg", wg}};
  return d;
}

uint32_t groups(uint32_t n, uint32_t wg) { return (n + wg - 1) / wg; }

}  // namespace

DeviceSelftest::DeviceSelftest(Device& device) : device_(device) {}

DeviceSelftest::~DeviceSelftest() {
  if (device_.lost()) return;
  for (auto b : owned_) device_.release(b);
}

std::vector<Readback> DeviceSelftest::enqueue() {
  auto make = [&](uint64_t bytes, const char* label) { return owned_.emplace_back(device_.create_buffer(bytes, label)); };
  x_.resize(kN);
  x2_.resize(kN);
  for (uint32_t i = 0; i < kN; ++i) {
    x_[i] = std::sin(0.37f * i) * 5.0f;
    x2_[i] = std::cos(0.11f * i) - 2.0f;
  }
  const uint64_t bytes = kN * sizeof(float);
  Buffer x = make(kXOffset + bytes, "selftest x");
  Buffer y = make(kYOffset + bytes, "selftest y");
  Buffer before = make(bytes, "selftest before"), after = make(bytes, "selftest after");
  Buffer copied = make(bytes + 4, "selftest copied");
  Buffer ring = make(kRingDispatches * kAlign, "selftest ring");

  // y[kYOffset..] = 3 x + 0.5 through views at offsets, workgroup size 64.
  device_.write_buffer(x, kXOffset, x_.data(), bytes);
  Pipeline fill3 = device_.pipeline(fill_desc(3.0, 64));
  const FillParams p{kN, 0.5f};
  const BufferView xy[] = {{x, kXOffset, bytes}, {y, kYOffset, bytes}};
  device_.dispatch(fill3, as_params(p), xy, groups(kN, 64));
  // write_buffer after a recorded dispatch must not be seen by it, only by the next one.
  Pipeline fill1 = device_.pipeline(fill_desc(1.0, 128));
  const FillParams p0{kN, 0.0f};
  const BufferView xb[] = {{x, kXOffset, bytes}, {before, 0, 0}};
  device_.dispatch(fill1, as_params(p0), xb, groups(kN, 128));
  device_.write_buffer(x, kXOffset, x2_.data(), bytes);
  const BufferView xa[] = {{x, kXOffset, bytes}, {after, 0, 0}};
  device_.dispatch(fill1, as_params(p0), xa, groups(kN, 128));
  device_.copy(y, kYOffset, copied, 4, bytes);
  // One single-element dispatch per slot, each with its own params: the ring must wrap correctly.
  for (uint32_t i = 0; i < kRingDispatches; ++i) {
    const FillParams pi{1, static_cast<float>(i)};
    const BufferView v[] = {{x, kXOffset, 4}, {ring, i * kAlign, 4}};
    device_.dispatch(fill1, as_params(pi), v, 1);
  }
  device_.submit();

  y_.assign(kYOffset / 4 + kN, -1.0f);
  before_.resize(kN);
  after_.resize(kN);
  copied_.resize(kN + 1);
  ring_.resize(kRingDispatches * kAlign / 4);
  return {{y, 0, y_.size() * 4, y_.data()},
          {before, 0, bytes, before_.data()},
          {after, 0, bytes, after_.data()},
          {copied, 0, bytes + 4, copied_.data()},
          {ring, 0, ring_.size() * 4, ring_.data()}};
}

std::string DeviceSelftest::report() const {
  nlohmann::json cases = nlohmann::json::array();
  bool all = true;
  auto check = [&](const char* name, auto&& expected, auto&& got, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; ++i) worst = std::max(worst, static_cast<double>(std::fabs(expected(i) - got(i))));
    const bool ok = worst <= 1e-5 * 16;
    all = all && ok;
    cases.push_back({{"name", name}, {"ok", ok}, {"max_error", worst}});
  };
  const size_t lead = kYOffset / 4;
  check("fill at offsets (override scale=3, wg=64)", [&](size_t i) { return i < lead ? 0.0f : x_[i - lead] * 3 + 0.5f; },
        [&](size_t i) { return y_[i]; }, y_.size());
  check("dispatch before write_buffer sees old data", [&](size_t i) { return x_[i]; }, [&](size_t i) { return before_[i]; }, kN);
  check("dispatch after write_buffer sees new data", [&](size_t i) { return x2_[i]; }, [&](size_t i) { return after_[i]; }, kN);
  check("copy to offset 4", [&](size_t i) { return i == 0 ? 0.0f : x_[i - 1] * 3 + 0.5f; }, [&](size_t i) { return copied_[i]; },
        copied_.size());
  check("params ring across 4099 dispatches", [&](size_t i) { return x2_[0] + static_cast<float>(i); },
        [&](size_t i) { return ring_[i * kAlign / 4]; }, kRingDispatches);
  return nlohmann::json{{"ok", all}, {"cases", cases}}.dump();
}

}  // namespace webaccel::gpu
