// Time per call of the non-matmul GPU ops (src/gpu/kernels.cpp) at llama decode and prefill shapes,
// on the native WebGPU device: each op is recorded `reps` times back to back, then finish(), twice;
// the figure is the second pass's wall time over reps: dispatch overhead included, as a repeated
// decode step pays it (its pipelines and bind groups made by the first pass).
// Usage: webaccel-gpu-ops-bench [reps]   (bench/gpu_ops/run.sh runs it on a GPU machine)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "gpu/device.h"
#include "gpu/kernels.h"

using namespace webaccel::gpu;

namespace {

struct Shape {
  const char* name;
  uint32_t d, n_head, n_head_kv, head_dim, n_ff;
};

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 100;
  std::string why;
  auto device = open_native_device(&why);
  if (!device) {
    std::printf("WebGPU absent: %s\n", why.c_str());
    return 1;
  }
  std::printf("%s on %s (%s), %d calls per figure\n\n| shape | tokens | op | µs per call |\n|---|---|---|---:|\n",
              device->info().implementation.c_str(), device->info().adapter.c_str(), device->info().backend.c_str(), reps);
  Kernels k(*device);
  std::vector<Buffer> owned;
  auto buffer = [&](size_t n) {  // filled with small varied values, so no op sees zeros or NaN
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = 0.01f * static_cast<float>((i * 2654435761u) % 200) - 1.0f;
    Buffer b = device->create_buffer(n * sizeof(float), "bench");
    device->write_buffer(b, 0, v.data(), n * sizeof(float));
    owned.push_back(b);
    return BufferView{b, 0, 0};
  };
  auto time = [&](const Shape& s, uint32_t tokens, const std::string& op, const std::function<void()>& call) {
    for (int i = 0; i < reps; ++i) call();  // compiles the pipeline, makes the bind groups
    device->finish();                        // (a decode step reuses them: the steady state)
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) call();
    device->finish();
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
    std::printf("| %s | %u | %s | %.1f |\n", s.name, tokens, op.c_str(), us);
  };

  {  // half a second of work first: an idle GPU runs at a fraction of its clock
    const BufferView a = buffer(1 << 20), b = buffer(1 << 20);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (std::chrono::steady_clock::now() < until) {
      for (int i = 0; i < 50; ++i) k.add(a, b, 1 << 20);
      device->finish();
    }
  }
  const uint32_t n_ctx = 4096, max_tokens = 128;
  for (const Shape s : {Shape{"7B", 4096, 32, 32, 128, 11008}, Shape{"SmolLM2-135M", 576, 9, 3, 64, 1536}}) {
    const uint32_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
    const BufferView x = buffer(max_tokens * s.d), w = buffer(s.d), y = buffer(max_tokens * s.d);
    const BufferView q = buffer(max_tokens * q_dim), out = buffer(max_tokens * q_dim);
    const BufferView k_cache = buffer(size_t{n_ctx} * kv_dim), v_cache = buffer(size_t{n_ctx} * kv_dim);
    const BufferView gate = buffer(max_tokens * s.n_ff), up = buffer(max_tokens * s.n_ff), ff = buffer(max_tokens * s.n_ff);
    const uint32_t qkv_dim = q_dim + 2 * kv_dim;  // the fused forward's rows: [q | k | v], [gate | up]
    const BufferView qkv = buffer(max_tokens * qkv_dim), gate_up = buffer(max_tokens * 2 * s.n_ff);
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    for (uint32_t T : {1u, max_tokens}) {
      time(s, T, "rms_norm", [&] { k.rms_norm(x, w, y, T, s.d, 1e-5f); });
      time(s, T, "rope (q)", [&] { k.rope(q, T, s.n_head, s.head_dim, s.head_dim, 100, 10000.0f); });
      time(s, T, "rope_kv (q, k, v into the caches)", [&] {
        k.rope_kv(qkv, k_cache, v_cache, T, qkv_dim, s.n_head, s.n_head_kv, s.head_dim, s.head_dim, 100, 10000.0f);
      });
      time(s, T, "silu_mul", [&] { k.silu_mul(gate, up, ff, T * s.n_ff); });
      time(s, T, "silu_mul_halves", [&] { k.silu_mul_halves(gate_up, ff, T, s.n_ff); });
      time(s, T, "add", [&] { k.add(x, y, T * s.d); });
      for (uint32_t keys : {64u, 512u, 2048u}) {
        if (T > 1 && keys != 512) continue;
        time(s, T, "attention over " + std::to_string(keys) + " keys",
             [&] { k.attention(q, k_cache, v_cache, out, T, s.n_head, s.n_head_kv, s.head_dim, keys - T, 0, true, scale); });
        if (T > 1) continue;  // the decode step's: RoPE and the cache store fused in
        time(s, T, "rope_kv_attention over " + std::to_string(keys) + " keys", [&] {
          k.rope_kv_attention(qkv, k_cache, v_cache, out, s.n_head, s.n_head_kv, s.head_dim, s.head_dim, keys - 1,
                              10000.0f, scale);
        });
      }
    }
  }
  // The same 4096-float add, each call on its own buffers: no call waits on the one before
  // (WebGPU puts a barrier between dependent dispatches), so this is the cost without barriers.
  const Shape none{"independent", 4096, 0, 0, 0, 0};
  std::vector<BufferView> xs, ys;
  for (int i = 0; i < reps; ++i) xs.push_back(buffer(4096)), ys.push_back(buffer(4096));
  int next = 0;
  time(none, 1, "add, each on its own buffers", [&] {
    k.add(xs[next % reps], ys[next % reps], 4096);
    ++next;
  });
  // Where that time goes: recording (CPU), submit (CPU: wgpu encodes the Vulkan commands), the
  // wait; bind groups cached (made above), as in a repeated decode step. Twice, to see the noise.
  for (const char* pass : {"first pass", "second pass"}) {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    for (int i = 0; i < reps; ++i) k.add(xs[i], ys[i], 4096);
    const auto t1 = clock::now();
    device->submit();
    const auto t2 = clock::now();
    device->finish();
    const auto t3 = clock::now();
    auto us = [&](clock::time_point a, clock::time_point b) {
      return std::chrono::duration<double, std::micro>(b - a).count() / reps;
    };
    std::printf("\nper independent add (%s): record %.2f us, submit %.2f us, wait for the GPU %.2f us\n", pass,
                us(t0, t1), us(t1, t2), us(t2, t3));
  }
  for (Buffer b : owned) device->release(b);
  return 0;
}
