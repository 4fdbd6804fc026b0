// What the decode benchmark of a synthetic llama does the same on every device: checking its
// request, the prompt it feeds, greedy tokens and medians. The native `gpu-bench` (src/cli) and the
// wasm build's GpuDecodeBench (src/wasm/gpu_bench_exports.cpp, driven from JS) both use it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "format/ggml_types.h"

namespace webaccel::gpu {

struct DecodeBenchRequest {
  std::string shape = "smollm2";  // kSyntheticShapes
  int bits = 4;
  int group = 32;
  int prompt = 8;    // tokens of the first inference
  int tokens = 32;   // decode steps
  uint32_t ctx = 512;
};

// The weight format of the request; throws kUsage naming the bad field (shape, bits/group, lengths).
GgmlType checked_bench_type(const DecodeBenchRequest& request);

inline constexpr uint64_t kBenchSeed = 42;  // every run uploads the same weights

// n prompt ids spread over the vocabulary (the same on every device).
std::vector<int32_t> bench_prompt(int n, uint32_t n_vocab);
int argmax(std::span<const float> logits);
double median(std::vector<double> values);

}  // namespace webaccel::gpu
