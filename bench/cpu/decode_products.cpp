// Matrix products of SmolLM2-135M's shapes, as a decode step runs them: the per-layer shapes over
// 30 copies of random weights (the layers stream from memory, as in a real step) and the 49152x576
// Q8_0 output head, 1 thread. `--tokens N` (N > 1) multiplies N tokens at once, as prompt
// processing does (the head is left out: a prompt needs it for its last token only). Built
// natively and for wasm (the relaxed build):
//   cmake --build build/release --target webaccel-decode-products && build/release/webaccel-decode-products [--tokens 36]
//   cmake --build build/wasm --target webaccel-decode-products && node bench/cpu/run_decode_products.mjs build/wasm/dist [--tokens 36]
// Prints the best of several timings per shape, in ms per token (all 30 layers' copies), and GB/s of
// weights (one token) or GMAC/s (several).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cpu/matmul.h"
#include "cpu/quant_blocks.h"

using namespace webaccel;
using namespace webaccel::cpu;

namespace {

std::vector<uint8_t> random_rows(GgmlType type, size_t rows, size_t n, uint32_t seed) {
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(rows * n / traits.block_elems * traits.block_bytes);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  for (size_t off = 0; off < bytes.size(); off += traits.block_bytes) {
    const uint16_t d = float_to_half(scale(rng)), m = float_to_half(-8 * scale(rng));
    std::memcpy(&bytes[off], &d, 2);
    if (type == GgmlType::kQ4_1) std::memcpy(&bytes[off + 2], &m, 2);
  }
  return bytes;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  size_t n_tokens = 1;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--tokens") == 0) n_tokens = static_cast<size_t>(std::max(1, std::atoi(argv[i + 1])));
  }
  ThreadPool pool(1);
  struct Shape {
    const char* name;
    GgmlType type;
    size_t rows, cols, copies;
  };
  const Shape shapes[] = {{"q+k+v 960x576 Q4_1", GgmlType::kQ4_1, 960, 576, 30},
                          {"attn_output 576x576 Q4_1", GgmlType::kQ4_1, 576, 576, 30},
                          {"gate+up 3072x576 Q4_1", GgmlType::kQ4_1, 3072, 576, 30},
                          {"down 576x1536 Q4_1", GgmlType::kQ4_1, 576, 1536, 30},
                          {"output 49152x576 Q8_0", GgmlType::kQ8_0, 49152, 576, 1}};
  std::printf("SIMD target: %s, %zu token(s) per product\n", simd_target_name(), n_tokens);
  double total = 0;
  for (int pass = 0; pass < 2; ++pass) {  // the first pass warms up (and lets a wasm engine tier up)
    for (const auto& s : shapes) {
      if (n_tokens > 1 && s.copies == 1) continue;  // the head: one token per prompt
      std::vector<std::vector<uint8_t>> w;
      for (size_t c = 0; c < s.copies; ++c) w.push_back(random_rows(s.type, s.rows, s.cols, static_cast<uint32_t>(1 + c)));
      std::vector<float> x(n_tokens * s.cols), out(n_tokens * s.rows);
      std::mt19937 rng(7);
      std::normal_distribution<float> normal;
      for (auto& v : x) v = normal(rng);
      const auto traits = *ggml_type_traits(static_cast<uint32_t>(s.type));
      const size_t row_bytes = s.cols / traits.block_elems * traits.block_bytes;
      QuantizedActivations act;
      auto step = [&](size_t c) {  // one layer's product: quantize the input, multiply
        act.quantize(s.type, x.data(), n_tokens, s.cols, pool);
        matmul(WeightMatrix{s.type, s.rows, s.cols, w[c].data(), row_bytes}, act, n_tokens, out.data(), pool);
      };
      double best = 1e30;
      for (int rep = 0; rep < (pass == 0 ? 1 : 7); ++rep) {
        size_t n = 0;  // whole passes over the copies, at least 20 ms (coarse browser clocks)
        const double t0 = now_ms();
        double t1 = t0;
        do {
          for (size_t c = 0; c < s.copies; ++c) step(c);
          ++n;
          t1 = now_ms();
        } while (t1 - t0 < 20.0);
        best = std::min(best, (t1 - t0) / static_cast<double>(n));
      }
      if (pass == 0) continue;
      best /= static_cast<double>(n_tokens);
      total += best;
      // One token: weight bytes streamed per second; several: multiply-adds per second.
      const double per_token = n_tokens == 1 ? static_cast<double>(s.copies * s.rows * row_bytes)
                                             : static_cast<double>(s.copies * s.rows * s.cols);
      std::printf("%-26s %7.3f ms per token  %6.2f %s  (out[0] %.6g)\n", s.name, best, per_token / best / 1e6,
                  n_tokens == 1 ? "GB/s" : "GMAC/s", out[0]);
    }
  }
  std::printf("%-26s %7.3f ms per token\n", "all products", total);
}
