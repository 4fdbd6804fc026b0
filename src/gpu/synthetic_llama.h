// Llama models of real shapes with random weights, for GPU benchmarks where the real weights are
// not available (7B) or not the point (SmolLM2's shapes at every precision). Shared by the native
// `gpu-bench` and the wasm build's GpuDecodeBench (src/wasm/gpu_bench_exports.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpu/gpu_llama.h"

namespace webaccel::gpu {

inline constexpr const char* kSyntheticShapes = "7b, smollm2, tiny";

struct SyntheticLlama {
  LlamaWeights weights;
  std::vector<std::vector<uint8_t>> storage;  // the bytes the weights point at
};

// shape: "7b" (Llama-2-7B: 4096 wide, 32 layers, 11008 FFN, 32000 vocab), "smollm2" (SmolLM2-135M:
// 576 wide, 30 layers, 9/3 heads, 1536 FFN, 49152 vocab) or "tiny" (SmolLM2's head layout, 2 layers,
// 2048 vocab: quick runs on software adapters); every matrix in `type`, codes random, scales small
// enough that activations stay finite.
SyntheticLlama make_synthetic_llama(const std::string& shape, GgmlType type, uint64_t seed);

}  // namespace webaccel::gpu
