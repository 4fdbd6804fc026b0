// Quantized GEMV speed against the plain WGSL copy kernel, through the native WebGPU device and
// the engine's own Kernels::matmul (the committed src/gpu/wgsl kernels, dispatched exactly as the
// engine dispatches them). Built by build_gemv_bench.sh, run by run_gemv_bench.sh.
//
// Each figure times N back-to-back dispatches (each writes the same y, so WebGPU orders them as a
// decode step's chain; N chosen so a run lasts >= 3 ms) two ways: "GPU": all N recorded, then one
// submit, timed from the submit's return to the queue's end (the GPU starts at the submit, so this
// is its time alone); "pipelined": submitting every 8 while recording on, wall time / N (where
// recording costs the CPU more than the GPU's work, small matrices, this measures the CPU).
// Figures are medians of 25 runs after 3 warm-up runs. Weights are random bytes
// (speed does not depend on values) in enough copies (>= 512 MiB) that no dispatch finds its
// matrix in L2.
//   gemv_bench [--formats WQ4_G32,...] [--shapes 4096x4096,...] [--tune [--tune-grid UPT:ROWQ:STEPQ,...]]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gpu/device.h"
#include "gpu/kernel_sources.h"
#include "gpu/kernels.h"
#include "gpu/matmul_plan.h"

using namespace webaccel;
using namespace webaccel::gpu;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWarmup = 3, kRuns = 25;
constexpr double kRunSeconds = 3e-3;
constexpr uint64_t kL2DefeatBytes = 512ull << 20;
constexpr size_t kMaxCopies = 256;  // 4096x4096 at 2 bits (4.7 MB) needs 109
constexpr int kMaxDispatches = 1000;
constexpr int kSubmitEvery = 8;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + 1) out.push_back(s.substr(start, at - start));
  out.push_back(s.substr(start));
  return out;
}

struct Timing {
  double seconds = 0;         // median GPU time per dispatch (recorded first, then one submit)
  double pipelined_seconds = 0;  // median wall time per dispatch, submitting every 8 while recording
  double record_seconds = 0;  // median CPU time recording one dispatch (Kernels + device + wgpu)
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Per-call medians of `record` (which records one dispatch for iteration i).
template <typename F>
Timing time_dispatches(Device& device, int n, F record) {
  std::vector<double> gpu, wall, rec;
  for (int run = 0; run < kWarmup + kRuns; run++) {
    for (int i = 0; i < n; i++) record(i);
    device.submit();
    const auto submitted = Clock::now();
    device.finish();
    if (run >= kWarmup) gpu.push_back(std::chrono::duration<double>(Clock::now() - submitted).count() / n);

    const auto start = Clock::now();
    double recording = 0;
    for (int i = 0; i < n; i++) {
      const auto r0 = Clock::now();
      record(i);
      recording += std::chrono::duration<double>(Clock::now() - r0).count();
      if (i % kSubmitEvery == kSubmitEvery - 1) device.submit();  // the GPU runs while the CPU records on
    }
    device.finish();
    if (run >= kWarmup) {
      wall.push_back(std::chrono::duration<double>(Clock::now() - start).count() / n);
      rec.push_back(recording / n);
    }
  }
  return {median(gpu), median(wall), median(rec)};
}

// GB/s (read + written) of copy.wgsl moving `half` bytes from one of `sources` buffers (cycled, so
// repeated reads miss the L2 as the GEMV rows' cycled copies do) into one dst: each dispatch
// writes what the one before wrote, so the chain waits on every dispatch as a GEMV chain does.
double copy_chain_gb_s(Device& device, uint64_t half, size_t sources) {
  struct CopyParams {
    uint32_t n_vec4, stride, pad0 = 0, pad1 = 0;
  };
  half = half / 16 * 16;
  std::vector<Buffer> src;
  for (size_t i = 0; i < sources; i++) src.push_back(device.create_buffer(half, "copy src"));
  const Buffer dst = device.create_buffer(half, "copy dst");
  const uint32_t wg = 256, groups = static_cast<uint32_t>(std::clamp<uint64_t>(half / 16 / wg, 1, 65535));
  const Pipeline p = device.pipeline(PipelineDesc{"copy:wg=256", std::string(kernel_source("copy")), "main", {{"wg", wg}}});
  const CopyParams params{static_cast<uint32_t>(half / 16), wg * groups};
  const int n = std::clamp(static_cast<int>(kRunSeconds / (2.0 * half / 3e12)), static_cast<int>(sources), kMaxDispatches);
  const double s = time_dispatches(device, n, [&](int i) {
    const BufferView views[] = {BufferView{src[i % sources]}, BufferView{dst}};
    device.dispatch(p, as_params(params), views, groups);
  }).seconds;
  for (const Buffer& b : src) device.release(b);
  device.release(dst);
  return 2.0 * half / s / 1e9;
}

// The yardstick: 1 GiB copied (or the largest power of two one binding takes, software adapters).
double copy_gb_s(Device& device, uint64_t& bytes_out) {
  uint64_t bytes = 1ull << 30;
  while (bytes > device.info().max_storage_buffer_binding_size) bytes /= 2;
  bytes_out = bytes;
  return copy_chain_gb_s(device, bytes, 1);
}

struct Result {
  Timing time;
  uint64_t bytes = 0;
  std::string kernel;  // gemv.wgsl or matmul.wgsl, with its tiling
};

std::string kernel_name(GgmlType type, uint32_t rows, uint32_t cols, const DeviceInfo& info) {
  const GpuFormat f = *gpu_format(type, cols);
  char buf[80];
  if (const auto g = gemv_tiling(f, rows, cols, use_subgroups(info.subgroups), use_int8_x(info.packed_dot4))) {
    std::snprintf(buf, sizeof buf, "gemv wg%u upt%u rows%u step%u%s%s", g->wg, g->upt, g->rows(), 4 * g->step_quads,
                  g->hoist ? " hoist" : "", g->prefetch ? " prefetch" : "");
  } else {
    std::snprintf(buf, sizeof buf, "matmul wg%u", matmul_tiling(f, cols, 1, use_subgroups(info.subgroups)).wg);
  }
  return buf;
}

// `outputs` > 1: each dispatch writes one of that many y buffers in turn, so consecutive dispatches
// do not depend on each other (how much of a dependent dispatch's fixed cost is the wait).
Result gemv(Device& device, Kernels& kernels, GgmlType type, uint32_t rows, uint32_t cols, size_t outputs = 1) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  const size_t row_bytes = cols / traits->block_elems * traits->block_bytes;
  std::vector<uint8_t> data(size_t{rows} * row_bytes);
  std::mt19937_64 rng(rows * 7 + cols);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(data.data() + i, &v, 8);
  }
  const cpu::WeightMatrix m{type, rows, cols, data.data(), row_bytes};
  std::vector<GpuMatrix> copies{kernels.upload(m, "bench")};
  const GpuMatrix w0 = copies[0];  // a copy: push_back below reallocates
  const uint64_t scale_bytes = w0.scales ? w0.scales.bytes : 0;
  while (copies.size() < 2 || (copies.size() * w0.weight_bytes < kL2DefeatBytes && copies.size() < kMaxCopies)) {
    GpuMatrix c = w0;
    c.codes = device.create_buffer(w0.codes.bytes, "bench copy");
    device.copy(w0.codes, 0, c.codes, 0, w0.codes.bytes);
    if (w0.scales) {
      c.scales = device.create_buffer(scale_bytes, "bench copy scales");
      device.copy(w0.scales, 0, c.scales, 0, scale_bytes);
    }
    copies.push_back(c);
  }
  std::vector<float> xv(cols, 0.5f);
  const Buffer x = kernels.upload_f32(xv.data(), cols, "x");
  std::vector<Buffer> ys;
  for (size_t i = 0; i < outputs; i++) ys.push_back(device.create_buffer(rows * 4ull, "y"));
  const int n = std::clamp(static_cast<int>(kRunSeconds / (w0.weight_bytes / 3e12)), static_cast<int>(copies.size()),
                           std::max(kMaxDispatches, static_cast<int>(copies.size())));
  Result r;
  r.bytes = w0.weight_bytes;
  r.kernel = kernel_name(type, rows, cols, device.info());
  r.time = time_dispatches(device, n, [&](int i) {
    kernels.matmul(copies[i % copies.size()], BufferView{x}, BufferView{ys[i % ys.size()]}, 1);
  });
  for (auto& c : copies) {
    device.release(c.codes);
    if (c.scales) device.release(c.scales);
  }
  device.release(x);
  for (const Buffer& y : ys) device.release(y);
  return r;
}

// A decode step's products without the rest of the step: per layer the 7B shape's four GEMVs
// (qkv 12288x4096, wo 4096x4096, gate|up 22016x4096, down 4096x11008), 32 layers in a chain (each
// writes the same y, so each waits for the one before, as in the forward), `distinct` layers' worth
// of weights cycled (32: the model's real footprint; fewer: a footprint closer to the single-shape
// rows above). Weights filled by queue writes from the CPU ("upload", as a model loads) or by GPU
// copies of one uploaded set ("copy", as the single-shape rows). Prints GPU time per chain and per
// product, against the sum of the single-shape times measured the same way.
void chain_7b(Device& device, Kernels& kernels, GgmlType type, uint32_t distinct, bool upload, double copy) {
  struct Shape {
    uint32_t rows, cols;
  };
  const Shape shapes[4] = {{12288, 4096}, {4096, 4096}, {22016, 4096}, {4096, 11008}};
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  std::mt19937_64 rng(7);
  std::vector<std::array<GpuMatrix, 4>> layers;
  std::array<GpuMatrix, 4> first{};
  uint64_t step_bytes = 0;
  const auto t0 = Clock::now();
  for (uint32_t l = 0; l < distinct; l++) {
    std::array<GpuMatrix, 4> layer{};
    for (int k = 0; k < 4; k++) {
      const auto [rows, cols] = shapes[k];
      if (l == 0 || upload) {
        const size_t row_bytes = cols / traits->block_elems * traits->block_bytes;
        std::vector<uint8_t> data(size_t{rows} * row_bytes);
        for (size_t i = 0; i + 8 <= data.size(); i += 8) {
          const uint64_t v = rng();
          std::memcpy(data.data() + i, &v, 8);
        }
        layer[k] = kernels.upload(cpu::WeightMatrix{type, rows, cols, data.data(), row_bytes}, "chain");
      } else {
        layer[k] = first[k];
        layer[k].codes = device.create_buffer(first[k].codes.bytes, "chain copy");
        device.copy(first[k].codes, 0, layer[k].codes, 0, first[k].codes.bytes);
        if (first[k].scales) {
          layer[k].scales = device.create_buffer(first[k].scales.bytes, "chain copy scales");
          device.copy(first[k].scales, 0, layer[k].scales, 0, first[k].scales.bytes);
        }
      }
      if (l == 0) step_bytes += layer[k].weight_bytes;
    }
    if (l == 0) first = layer;
    layers.push_back(layer);
  }
  device.finish();
  const double fill_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<float> xv(11008, 0.5f);
  const Buffer x = kernels.upload_f32(xv.data(), xv.size(), "x");
  const Buffer y = device.create_buffer(22016 * 4ull, "y");
  constexpr int kLayers = 32;
  const Timing t = time_dispatches(device, 4 * kLayers, [&](int i) {
    kernels.matmul(layers[(i / 4) % distinct][i % 4], BufferView{x}, BufferView{y}, 1);
  });
  double alone_us = 0;  // the same four products, each timed alone (its own chain of copies)
  for (const auto& [rows, cols] : shapes) alone_us += gemv(device, kernels, type, rows, cols).time.seconds * 1e6;
  const double chain_us = t.seconds * 4 * kLayers * 1e6;
  const double gbs = kLayers * step_bytes / (chain_us * 1e-6) / 1e9;
  std::printf("| %s | %u x %.0f MB, %s (%.1f s) | %.0f | %.1f | %.0f | %.0f%% | %.1f | %.2fx |\n",
              std::string(ggml_type_name(type)).c_str(), distinct, step_bytes / 1e6, upload ? "upload" : "copy", fill_s, chain_us,
              chain_us / (4 * kLayers), gbs, 100 * gbs / copy, alone_us / 4, chain_us / (kLayers * alone_us));
  std::fflush(stdout);
  for (auto& layer : layers) {
    for (auto& m : layer) {
      device.release(m.codes);
      if (m.scales) device.release(m.scales);
    }
  }
  device.release(x);
  device.release(y);
}

std::optional<GgmlType> type_named(const std::string& name) {
  for (uint32_t id : {0u, 1u, 2u, 3u, 8u}) {
    if (ggml_type_name(static_cast<GgmlType>(id)) == name) return static_cast<GgmlType>(id);
  }
  for (int bits : {2, 3, 4, 8}) {
    for (int group : {32, 64, 128, 192}) {
      if (auto t = wq_type(bits, group); t && ggml_type_name(*t) == name) return t;
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  std::string formats = "WQ2_G32,WQ2_G128,WQ3_G32,WQ3_G128,WQ4_G32,WQ4_G128,WQ8_G32,WQ8_G128,WK2,WK3,WK4,Q4_0,Q8_0,F16";
  std::string shapes = "4096x4096,8192x8192,16384x16384,14336x4096,4096x14336";
  bool tune = false;
  std::string tune_grid;  // "upt_max:row_quads:step_quads,..." replacing the default tilings tried
  std::string chains;  // e.g. "32:upload,32:copy,4:copy": --chain runs chain_7b instead of the table
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--formats" && i + 1 < argc) formats = argv[++i];
    else if (a == "--chain" && i + 1 < argc) chains = argv[++i];
    else if (a == "--shapes" && i + 1 < argc) shapes = argv[++i];
    else if (a == "--tune") tune = true;
    else if (a == "--tune-grid" && i + 1 < argc) tune_grid = argv[++i];
    else {
      std::fprintf(stderr, "usage: gemv_bench [--formats A,B] [--shapes RxC,...] [--tune [--tune-grid U:R:S,...]] [--chain LAYERS:upload|copy,...]\n");
      return 2;
    }
  }
  std::string why;
  auto device = open_native_device(&why);
  if (!device) {
    std::fprintf(stderr, "gemv_bench: no WebGPU device: %s\n", why.c_str());
    return 1;
  }
  const DeviceInfo& info = device->info();
  std::printf("# %s on %s (%s), subgroups %d, shader-f16 %d\n", info.implementation.c_str(), info.adapter.c_str(),
              info.backend.c_str(), info.subgroups, info.shader_f16);
  Kernels kernels(*device);
  try {
    uint64_t copy_bytes = 0;
    const double copy = copy_gb_s(*device, copy_bytes);
    std::printf("# copy kernel (src/gpu/wgsl/copy.wgsl), %llu MiB read + written: %.0f GB/s\n\n",
                static_cast<unsigned long long>(copy_bytes >> 20), copy);
    {  // the fixed cost of one dependent dispatch: a chain of tiny GEMVs
      const Result tiny = gemv(*device, kernels, GgmlType::kWQ4_G32, 64, 256);
      std::printf("# one dependent dispatch (WQ4_G32 64x256 GEMV chain): %.1f us GPU, %.1f us pipelined, %.1f us CPU "
                  "to record\n", tiny.time.seconds * 1e6, tiny.time.pipelined_seconds * 1e6,
                  tiny.time.record_seconds * 1e6);
      const Result apart = gemv(*device, kernels, GgmlType::kWQ4_G32, 64, 256, 16);
      std::printf("# one independent dispatch (the same chain writing 16 y in turn): %.1f us GPU\n\n", apart.time.seconds * 1e6);
    }
    if (!chains.empty()) {
      std::printf("| format | distinct layers x MB, filled by (s) | chain of 32 layers us | us per product | GB/s | of copy | "
                  "us per product alone | chain / alone |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
      for (const auto& fname : split(formats, ',')) {
        for (const auto& c : split(chains, ',')) {
          const auto parts = split(c, ':');
          const auto type = type_named(fname);
          if (!type || parts.size() != 2 || (parts[1] != "upload" && parts[1] != "copy")) {
            std::fprintf(stderr, "gemv_bench: bad --chain '%s' or format %s\n", c.c_str(), fname.c_str());
            return 2;
          }
          chain_7b(*device, kernels, *type, std::stoul(parts[0]), parts[1] == "upload", copy);
        }
      }
      return 0;
    }
    if (!tune) {
      std::printf("| format | rows x cols | weight + scale MB | kernel | GPU us | GB/s | of copy | same-bytes copy chain GB/s "
                  "| of that | pipelined us | CPU us to record |\n");
      std::printf("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    }
    for (const auto& fname : split(formats, ',')) {
      const auto type = type_named(fname);
      if (!type) {
        std::fprintf(stderr, "gemv_bench: unknown format %s\n", fname.c_str());
        return 2;
      }
      for (const auto& shape : split(shapes, ',')) {
        const auto rc = split(shape, 'x');
        const uint32_t rows = std::stoul(rc.at(0));
        uint32_t cols = std::stoul(rc.at(1));
        if (wk_bits(*type)) cols = cols / kWkSuperBlock * kWkSuperBlock;  // WK rows hold whole 192-weight blocks
        if (tune) {  // GB/s (GPU time) of matmul.wgsl and of gemv.wgsl tilings
          std::printf("%s %ux%u:", fname.c_str(), rows, cols);
          std::vector<GemvTuning> tunings = {{0, 0, 0, 0, true}, {0, 0, 2, 1}, {0, 0, 2, 2}, {0, 0, 4, 1}, {0, 0, 4, 2},
                                             {0, 0, 4, 4},       {0, 0, 8, 1}, {0, 0, 8, 2}, {0, 0, 8, 4}, {0, 4, 8, 2}};
          if (!tune_grid.empty()) {
            tunings = {GemvTuning{}};  // the committed tiling first
            for (const auto& t : split(tune_grid, ',')) {
              const auto f = split(t, ':');
              tunings.push_back({0, static_cast<uint32_t>(std::stoul(f.at(0))), static_cast<uint32_t>(std::stoul(f.at(1))),
                                 static_cast<uint32_t>(std::stoul(f.at(2)))});
            }
          }
          for (const GemvTuning& t : tunings) {
            override_gemv_for_tuning(t);
            const Result res = gemv(*device, kernels, *type, rows, cols);
            std::printf(" [%s] %.0f", res.kernel.c_str(), res.bytes / res.time.seconds / 1e9);
            std::fflush(stdout);
          }
          override_gemv_for_tuning({});
          std::printf("\n");
          continue;
        }
        const Result r = gemv(*device, kernels, *type, rows, cols);
        const double gbs = r.bytes / r.time.seconds / 1e9;
        // The same traffic per dispatch as a copy (half read, half written), chained like the GEMVs:
        // what the fixed cost of a dependent dispatch leaves of the bandwidth at this size.
        const uint64_t half = r.bytes / 2;
        const double same = copy_chain_gb_s(*device, half, std::clamp<size_t>((kL2DefeatBytes + half - 1) / half, 2, kMaxCopies));
        std::printf("| %s | %ux%u | %.1f | %s | %.1f | %.0f | %.0f%% | %.0f | %.0f%% | %.1f | %.1f |\n", fname.c_str(), rows,
                    cols, r.bytes / 1e6, r.kernel.c_str(), r.time.seconds * 1e6, gbs, 100 * gbs / copy, same,
                    100 * gbs / same, r.time.pipelined_seconds * 1e6, r.time.record_seconds * 1e6);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gemv_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
