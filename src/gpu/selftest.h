// The kernel self-test: every op of gpu::Kernels on random inputs of odd sizes, against a CPU
// reference computed here (cpu::reference ops, dequantized weights, double accumulation).
// Three phases, so that hosts reading back asynchronously (the browser bridge) can run it:
//   auto reads = test.enqueue();   // uploads inputs, records every op, submits
//   ...read each Readback into its dst (read_all() natively, the bridge in the browser)...
//   test.report();                 // JSON of every case's max error against its tolerance
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpu/kernels.h"
#include "gpu/readback.h"

namespace webaccel::gpu {

class KernelSelftest {
 public:
  KernelSelftest(Kernels& kernels, uint64_t seed);
  ~KernelSelftest();
  KernelSelftest(const KernelSelftest&) = delete;
  KernelSelftest& operator=(const KernelSelftest&) = delete;

  std::vector<Readback> enqueue();
  // {"ok": bool, "seed": n, "cases": [{"name", "ok", "max_error", "tolerance"} or {"name", "ok", "error"}]}
  std::string report() const;
  bool ok() const;

  struct Case {
    std::string name;
    Buffer out;                  // what the GPU wrote
    std::vector<float> expected; // the CPU reference
    std::vector<float> got;      // read back
    double tolerance = 1e-4;     // on max |got - expected| / max(|expected|, 1)
    std::string error;           // the op threw (a format without a kernel, a bad shape): the case failed
  };

 private:
  std::vector<float> random(size_t n, float scale = 1.0f);
  // Random x that gemv.wgsl's int8 x (one scale per `run` values) holds exactly: k * s / 127.
  std::vector<float> int8_exact(size_t n, size_t run);
  Buffer upload(const std::vector<float>& v, const char* name);
  Buffer upload_u32(const std::vector<uint32_t>& v, const char* name);
  Buffer zeros(size_t floats, const char* name);
  void expect(std::string name, Buffer out, std::vector<float> expected, double tolerance = 1e-4);

  void matmul_cases();
  void row_op_cases();
  void rope_cases();
  void attention_cases();
  void elementwise_cases();

  Kernels& k_;
  uint64_t seed_;
  uint64_t state_;
  std::vector<Buffer> owned_;
  std::vector<Case> cases_;
};

}  // namespace webaccel::gpu
