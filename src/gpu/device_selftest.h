// A check of a gpu::Device itself, independent of the kernel library: uniform params through the
// ring, buffer views at offsets, override constants, write_buffer ordering, copies and read back.
// Three phases, so hosts that read back asynchronously can run it: enqueue, read, report.
#pragma once

#include <string>
#include <vector>

#include "gpu/readback.h"

namespace webaccel::gpu {

class DeviceSelftest {
 public:
  explicit DeviceSelftest(Device& device);
  ~DeviceSelftest();
  DeviceSelftest(const DeviceSelftest&) = delete;
  DeviceSelftest& operator=(const DeviceSelftest&) = delete;

  // Records every case and returns the outputs to read back (into this object) before report().
  std::vector<Readback> enqueue();
  // JSON {"ok": bool, "cases": [{"name", "ok", "max_error"}...]} once the reads landed.
  std::string report() const;

 private:
  Device& device_;
  std::vector<Buffer> owned_;
  std::vector<float> x_, x2_;            // inputs
  std::vector<float> y_, before_, after_, copied_, ring_;  // read back
};

}  // namespace webaccel::gpu
