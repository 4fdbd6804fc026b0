// Every non-matmul GPU op against the CPU scalar reference (cpu/reference_ops) or, where the CPU
// has no standalone op (rope, attention), a loop of gpu_reference_loops.h; random non-zero
// inputs of odd sizes. Runs on whatever native WebGPU adapter is present (lavapipe in CTest) and
// skips, saying why, where there is none. Device-level tests (loss, absence, limits) come first.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cpu/reference_ops.h"
#include "gpu/device.h"
#include "gpu/kernels.h"
#include "gpu_reference_loops.h"
#include "gpu_test_fixture.h"
#include "random_inputs.h"

namespace webaccel::gpu {
namespace {

using testing_inputs::random_floats;

class GpuKernels : public GpuTest {};

TEST(GpuDevice, DisabledByEnvironmentGivesNullWithReason) {
  setenv("WEBACCEL_GPU_DISABLE", "1", 1);
  std::string why;
  auto device = open_native_device(&why);
  unsetenv("WEBACCEL_GPU_DISABLE");
  EXPECT_EQ(device, nullptr);
  EXPECT_NE(why.find("WEBACCEL_GPU_DISABLE"), std::string::npos) << why;
}

TEST(GpuDevice, LostDeviceThrowsDeviceLost) {
  std::string why;
  auto device = open_native_device(&why);
  if (!device) GTEST_SKIP() << "WebGPU absent: " << why;
  Buffer b = device->create_buffer(64, "before loss");
  EXPECT_FALSE(device->lost());
  device->destroy();  // wgpuDeviceDestroy: the real loss, as a driver reset would cause
  EXPECT_TRUE(device->lost());
  float out[16];
  EXPECT_THROW(device->read_buffer(b, 0, out, sizeof out), DeviceLost);
  EXPECT_THROW(device->create_buffer(64, "after loss"), DeviceLost);
  EXPECT_THROW(device->submit(), DeviceLost);
  Kernels k(*device);
  EXPECT_THROW(k.add({b, 0, 0}, {b, 0, 0}, 16), DeviceLost);
}

// Lost with work recorded but not submitted: the next call throws, and closing the device is clean.
TEST(GpuDevice, LossWithRecordedWorkThrowsThenCloses) {
  std::string why;
  auto device = open_native_device(&why);
  if (!device) GTEST_SKIP() << "WebGPU absent: " << why;
  Buffer x = device->create_buffer(256, "x"), y = device->create_buffer(256, "y");
  Kernels k(*device);
  k.add({x, 0, 0}, {y, 0, 0}, 64);  // recorded, not submitted
  device->destroy();
  EXPECT_THROW(device->submit(), DeviceLost);
  EXPECT_THROW(device->finish(), DeviceLost);
  device.reset();
}

TEST_F(GpuKernels, InfoReportsRealLimits) {
  const auto& info = device_->info();
  EXPECT_NE(info.implementation.find("wgpu-native"), std::string::npos);
  EXPECT_FALSE(info.adapter.empty());
  EXPECT_GE(info.max_storage_buffer_binding_size, 128u << 20);  // WebGPU's default minimum
  EXPECT_GE(info.max_buffer_size, info.max_storage_buffer_binding_size);
  EXPECT_GE(info.max_compute_workgroups_per_dimension, 65535u);
  EXPECT_GE(info.max_compute_invocations_per_workgroup, 256u);
  EXPECT_TRUE(info.sync_readback);
}

// Where the device reports subgroups, a WGSL kernel enabling them compiles and runs.
TEST_F(GpuKernels, SubgroupsWorkWhereReported) {
  if (!device_->info().subgroups) GTEST_SKIP() << "adapter offers no subgroups";
  const char* wgsl = R"(enable subgroups;
struct Params { n: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_size) size: u32) {
  let total = subgroupAdd(1u);
  if (lid == 0u && params.n > 0u) { out[0] = total; out[1] = size; }
})";
  Pipeline p = device_->pipeline({"subgroup_probe", wgsl, "main", {}});
  Buffer out = zeros(2);
  const uint32_t n = 1;
  const BufferView bind[] = {all(out)};
  device_->dispatch(p, as_params(n), bind, 1);
  uint32_t got[2];
  device_->read_buffer(out, 0, got, sizeof got);
  EXPECT_EQ(got[0], got[1]) << "subgroupAdd(1) should equal the subgroup size";
  std::printf("[gpu] subgroup size %u\n", got[1]);
}

TEST_F(GpuKernels, BufferAboveMaxBufferSizeFailsClearly) {
  const uint64_t too_big = device_->info().max_buffer_size + 4;
  try {
    device_->create_buffer(too_big, "huge weights");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("huge weights"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("maxBufferSize"), std::string::npos) << e.what();
  }
}

// A view larger than maxStorageBufferBindingSize is refused before WebGPU sees it, naming the
// pipeline and the binding (kernels split larger tensors; see kernels.h).
TEST_F(GpuKernels, ViewAboveMaxBindingSizeFailsClearly) {
  const uint64_t limit = device_->info().max_storage_buffer_binding_size;
  if (device_->info().max_buffer_size < limit + 1024 || limit > (uint64_t{1} << 31)) {
    GTEST_SKIP() << "this adapter cannot hold a buffer above its binding limit cheaply";
  }
  Buffer big = device_->create_buffer(limit + 1024, "bigger than one binding");
  owned_.push_back(big);
  try {
    kernels_->add({big, 0, 0}, {big, 0, 256}, 64);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add:wg=256"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("@binding(1)"), std::string::npos) << e.what();
  }
}

TEST_F(GpuKernels, BadWgslNamesThePipeline) {
  PipelineDesc desc{"broken_family:wg=64", "@compute @workgroup_size(64) fn main() { let x: u32 = 1.5; }", "main", {}};
  try {
    device_->pipeline(desc);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken_family:wg=64"), std::string::npos) << e.what();
  }
  desc.key = "broken_family:wg=32";
  try {
    device_->precompile(std::span<const PipelineDesc>(&desc, 1));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken_family:wg=32"), std::string::npos) << e.what();
  }
}

TEST_F(GpuKernels, ReadBackAtUnalignedOffsets) {
  const auto x = random_floats(37, 1);
  Buffer b = upload(x);
  float got[5];
  device_->read_buffer(b, 3 * sizeof(float), got, sizeof got);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i], x[3 + i]);
}

// A write recorded after a dispatch must not be seen by that dispatch (program order).
TEST_F(GpuKernels, WriteBufferKeepsProgramOrder) {
  const uint32_t n = 37;
  Buffer x = upload(std::vector<float>(n, 1.0f));
  Buffer y = upload(std::vector<float>(n, 2.0f));
  kernels_->add(all(x), all(y), n);  // x = 3
  const std::vector<float> ten(n, 10.0f);
  device_->write_buffer(y, 0, ten.data(), n * sizeof(float));
  kernels_->add(all(x), all(y), n);  // x = 13
  for (float v : download(x, n)) EXPECT_EQ(v, 13.0f);
}

// More dispatches than the params ring has slots (1024): it flushes mid-way, and cached bind
// groups are reused across the submits with the params of each dispatch.
TEST_F(GpuKernels, ManyDispatchesWrapTheParamsRing) {
  const uint32_t n = 37, steps = 2500;
  Buffer x = upload(std::vector<float>(n, 0.0f));
  Buffer y = upload(std::vector<float>(n, 1.0f));
  for (uint32_t i = 0; i < steps; ++i) kernels_->add(all(x), all(y), n - i % 2);  // n varies: params matter
  const auto got = download(x, n);
  EXPECT_EQ(got[0], float(steps));
  EXPECT_EQ(got[n - 1], float(steps / 2));
}

TEST_F(GpuKernels, RmsNorm) {
  for (uint32_t tokens : {1u, 3u, 7u}) {
    for (uint32_t dim : {37u, 383u, 2049u}) {
      const auto x = random_floats(size_t{tokens} * dim, tokens * 100 + dim, 3.0f);
      const auto w = random_floats(dim, dim + 1);
      Buffer xb = upload(x), wb = upload(w), yb = zeros(x.size());
      kernels_->rms_norm(all(xb), all(wb), all(yb), tokens, dim, 1e-5f);
      std::vector<float> want(x.size());
      for (uint32_t t = 0; t < tokens; ++t) cpu::reference::rms_norm(&x[t * dim], w.data(), 1e-5f, &want[t * dim], dim);
      EXPECT_LE(worst_ratio(download(yb, x.size()), want, 1e-6, 1e-5), 1.0) << tokens << "x" << dim;
    }
  }
}

TEST_F(GpuKernels, LayerNorm) {
  for (uint32_t tokens : {1u, 3u, 7u}) {
    for (uint32_t dim : {37u, 383u, 2049u}) {
      auto x = random_floats(size_t{tokens} * dim, tokens * 10 + dim, 2.0f);
      for (auto& v : x) v += 5.0f;  // a mean far from 0, as the two-pass variance must handle
      const auto g = random_floats(dim, dim + 2), b = random_floats(dim, dim + 3);
      Buffer xb = upload(x), gb = upload(g), bb = upload(b), yb = zeros(x.size());
      kernels_->layer_norm(all(xb), all(gb), all(bb), all(yb), tokens, dim, 1e-12f);
      std::vector<float> want(x.size());
      for (uint32_t t = 0; t < tokens; ++t) {
        cpu::reference::layer_norm(&x[t * dim], g.data(), b.data(), 1e-12f, &want[t * dim], dim);
      }
      EXPECT_LE(worst_ratio(download(yb, x.size()), want, 1e-5, 1e-5), 1.0) << tokens << "x" << dim;
    }
  }
}

TEST_F(GpuKernels, Rope) {
  struct Case {
    uint32_t tokens, n_heads, head_dim, n_rot, pos0;
  };
  for (const Case c : {Case{1, 9, 64, 64, 0}, Case{3, 9, 64, 64, 37}, Case{7, 3, 48, 48, 5}, Case{3, 9, 48, 32, 11},
                       Case{2, 3, 64, 64, 8000}, Case{1, 1, 64, 64, 40000}}) {
    auto x = random_floats(size_t{c.tokens} * c.n_heads * c.head_dim, c.pos0 + c.head_dim);
    Buffer xb = upload(x);
    kernels_->rope(all(xb), c.tokens, c.n_heads, c.head_dim, c.n_rot, c.pos0, 10000.0f);
    rope_reference(x, c.tokens, c.n_heads, c.head_dim, c.n_rot, c.pos0, 10000.0f);
    // Angles match bit for bit; sin/cos differ by a few ulp (3e-6 absolute at positions near 4e4).
    const double abs_tol = c.pos0 > 10000 ? 1e-5 : 2e-6;
    EXPECT_LE(worst_ratio(download(xb, x.size()), x, abs_tol, 2e-6), 1.0)
        << c.tokens << " tokens, " << c.n_heads << " heads of " << c.head_dim << ", n_rot " << c.n_rot << ", pos0 " << c.pos0;
  }
}

// RoPE over heads inside wider rows (q and k of a fused QKV row: n_head + n_head_kv heads, row
// stride past them): the heads turn as contiguous ones would, the rest of each row stays as it was.
TEST_F(GpuKernels, RopeWithRowStride) {
  struct Case {
    uint32_t tokens, n_heads, head_dim, n_rot, pos0, row_stride;
  };
  for (const Case c : {Case{1, 12, 64, 64, 0, 12 * 64 + 3 * 64}, Case{3, 12, 48, 32, 37, 12 * 48 + 6 * 48 + 5},
                       Case{7, 5, 32, 32, 8000, 5 * 32 + 17}}) {
    const auto x = random_floats(size_t{c.tokens} * c.row_stride, c.pos0 + c.row_stride);
    Buffer xb = upload(x);
    kernels_->rope(all(xb), c.tokens, c.n_heads, c.head_dim, c.n_rot, c.pos0, 10000.0f, c.row_stride);
    const uint32_t heads = c.n_heads * c.head_dim;
    std::vector<float> packed(size_t{c.tokens} * heads);
    for (uint32_t t = 0; t < c.tokens; ++t) std::copy_n(&x[size_t{t} * c.row_stride], heads, &packed[size_t{t} * heads]);
    rope_reference(packed, c.tokens, c.n_heads, c.head_dim, c.n_rot, c.pos0, 10000.0f);
    const auto got = download(xb, x.size());
    std::vector<float> got_heads(packed.size());
    for (uint32_t t = 0; t < c.tokens; ++t) {
      std::copy_n(&got[size_t{t} * c.row_stride], heads, &got_heads[size_t{t} * heads]);
      for (uint32_t i = heads; i < c.row_stride; ++i) ASSERT_EQ(got[size_t{t} * c.row_stride + i], x[size_t{t} * c.row_stride + i]);
    }
    const double abs_tol = c.pos0 > 10000 ? 1e-5 : 2e-6;
    EXPECT_LE(worst_ratio(got_heads, packed, abs_tol, 2e-6), 1.0)
        << c.tokens << " tokens, " << c.n_heads << " heads of " << c.head_dim << ", stride " << c.row_stride;
  }
}

// RoPE and the cache store of fused QKV rows in one dispatch: q turned in place exactly as `rope`
// turns it (same code, bit for bit), k turned and v copied into cache rows pos0.., the other cache
// rows and the k, v of the rows untouched.
TEST_F(GpuKernels, RopeKvTurnsQAndStoresKv) {
  struct Case {
    uint32_t tokens, n_head, n_head_kv, head_dim, n_rot, pos0, pad;
  };
  for (const Case c : {Case{1, 9, 3, 64, 64, 0, 0}, Case{3, 9, 3, 48, 32, 37, 5}, Case{7, 4, 4, 32, 32, 5, 0},
                       Case{2, 6, 2, 16, 16, 8000, 3}, Case{1, 32, 32, 128, 128, 511, 0}}) {
    const uint32_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_head_kv * c.head_dim;
    const uint32_t stride = q_dim + 2 * kv_dim + c.pad, n_ctx = c.pos0 + c.tokens + 3;
    const auto qkv = random_floats(size_t{c.tokens} * stride, c.pos0 + stride);
    const auto kc = random_floats(size_t{n_ctx} * kv_dim, 7), vc = random_floats(size_t{n_ctx} * kv_dim, 8);
    Buffer qkvb = upload(qkv), kcb = upload(kc), vcb = upload(vc), rb = upload(qkv);
    kernels_->rope_kv(all(qkvb), all(kcb), all(vcb), c.tokens, stride, c.n_head, c.n_head_kv, c.head_dim, c.n_rot,
                      c.pos0, 10000.0f);
    kernels_->rope(all(rb), c.tokens, c.n_head + c.n_head_kv, c.head_dim, c.n_rot, c.pos0, 10000.0f, stride);
    const auto got = download(qkvb, qkv.size()), by_rope = download(rb, qkv.size());
    const auto got_k = download(kcb, kc.size()), got_v = download(vcb, vc.size());
    // The reference: q and k of each row turned (double-checked against rope_reference).
    std::vector<float> qk(size_t{c.tokens} * (q_dim + kv_dim));
    for (uint32_t t = 0; t < c.tokens; ++t) std::copy_n(&qkv[size_t{t} * stride], q_dim + kv_dim, &qk[t * size_t{q_dim + kv_dim}]);
    rope_reference(qk, c.tokens, c.n_head + c.n_head_kv, c.head_dim, c.n_rot, c.pos0, 10000.0f);
    auto want_k = kc, want_v = vc;
    std::vector<float> got_q, want_q;
    for (uint32_t t = 0; t < c.tokens; ++t) {
      const float* row = &qkv[size_t{t} * stride];
      const float* turned = &qk[t * size_t{q_dim + kv_dim}];
      std::copy_n(turned + q_dim, kv_dim, &want_k[size_t{c.pos0 + t} * kv_dim]);
      std::copy_n(row + q_dim + kv_dim, kv_dim, &want_v[size_t{c.pos0 + t} * kv_dim]);
      for (uint32_t i = 0; i < stride; ++i) {
        const size_t at = size_t{t} * stride + i;
        if (i < q_dim) {
          ASSERT_EQ(got[at], by_rope[at]) << "q differs from rope's at token " << t << ", column " << i;
          got_q.push_back(got[at]);
          want_q.push_back(turned[i]);
        } else {
          ASSERT_EQ(got[at], qkv[at]) << "k, v or padding changed at token " << t << ", column " << i;
        }
      }
      for (uint32_t i = 0; i < kv_dim; ++i) {  // the cache's k is rope's k, bit for bit
        ASSERT_EQ(got_k[size_t{c.pos0 + t} * kv_dim + i], by_rope[size_t{t} * stride + q_dim + i]) << t << ", " << i;
      }
    }
    const double abs_tol = c.pos0 > 4000 ? 1e-5 : 2e-6;
    EXPECT_LE(worst_ratio(got_q, want_q, abs_tol, 2e-6), 1.0) << c.tokens << " tokens, pos0 " << c.pos0;
    EXPECT_LE(worst_ratio(got_k, want_k, abs_tol, 2e-6), 1.0) << c.tokens << " tokens, pos0 " << c.pos0;
    EXPECT_EQ(got_v, want_v) << c.tokens << " tokens, pos0 " << c.pos0;
  }
}

TEST_F(GpuKernels, KvAppendWritesRowsAtPos0Only) {
  const uint32_t n_ctx = 19, kv_dim = 3 * 48, tokens = 3, pos0 = 7;
  const auto k = random_floats(tokens * kv_dim, 1), v = random_floats(tokens * kv_dim, 2);
  auto kc = random_floats(n_ctx * kv_dim, 3), vc = random_floats(n_ctx * kv_dim, 4);
  Buffer kb = upload(k), vb = upload(v), kcb = upload(kc), vcb = upload(vc);
  kernels_->kv_append(all(kb), all(vb), all(kcb), all(vcb), tokens, kv_dim, pos0);
  std::copy(k.begin(), k.end(), kc.begin() + pos0 * kv_dim);
  std::copy(v.begin(), v.end(), vc.begin() + pos0 * kv_dim);
  EXPECT_EQ(download(kcb, kc.size()), kc);
  EXPECT_EQ(download(vcb, vc.size()), vc);
}

TEST_F(GpuKernels, Attention) {
  struct Case {
    uint32_t tokens, n_head, n_head_kv, head_dim, pos0, n_kv;
    bool causal;
  };
  // Decode and prefill steps past one tile (each of the 64/128/256-key tile sizes the op picks),
  // grouped-query heads, BERT's bidirectional case.
  for (const Case c : {Case{1, 9, 3, 64, 0, 1, true}, Case{3, 9, 3, 64, 70, 0, true}, Case{7, 9, 3, 48, 130, 0, true},
                       Case{1, 4, 4, 64, 300, 0, true}, Case{1, 9, 3, 48, 400, 0, true}, Case{1, 8, 8, 128, 600, 0, true},
                       Case{7, 12, 12, 32, 0, 7, false},
                       Case{3, 6, 2, 128, 0, 131, false}}) {
    const uint32_t n_ctx = std::max(c.pos0 + c.tokens, c.n_kv) + 5, kv_dim = c.n_head_kv * c.head_dim;
    const auto q = random_floats(size_t{c.tokens} * c.n_head * c.head_dim, c.pos0 + 1, 1.5f);
    const auto kc = random_floats(size_t{n_ctx} * kv_dim, c.pos0 + 2, 1.5f);
    const auto vc = random_floats(size_t{n_ctx} * kv_dim, c.pos0 + 3);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    Buffer qb = upload(q), kb = upload(kc), vb = upload(vc), ob = zeros(q.size());
    kernels_->attention(all(qb), all(kb), all(vb), all(ob), c.tokens, c.n_head, c.n_head_kv, c.head_dim, c.pos0, c.n_kv,
                        c.causal, scale);
    const auto want =
        attention_reference(q, kc, vc, c.tokens, c.n_head, c.n_head_kv, c.head_dim, c.pos0, c.n_kv, c.causal, scale);
    EXPECT_LE(worst_ratio(download(ob, q.size()), want, 2e-5, 1e-4), 1.0)
        << c.tokens << " tokens, heads " << c.n_head << "/" << c.n_head_kv << " of " << c.head_dim << ", pos0 " << c.pos0;
  }
}

// q read from wider rows (the q part of fused QKV rows): the same result as from contiguous q.
TEST_F(GpuKernels, AttentionReadsStridedQ) {
  struct Case {
    uint32_t tokens, n_head, n_head_kv, head_dim, pos0, extra;
  };
  for (const Case c : {Case{1, 9, 3, 64, 0, 2 * 3 * 64}, Case{3, 9, 3, 48, 70, 2 * 3 * 48 + 7}, Case{7, 4, 4, 32, 130, 8 * 32},
                       Case{1, 8, 8, 128, 300, 16 * 128}}) {
    const uint32_t q_dim = c.n_head * c.head_dim, stride = q_dim + c.extra, kv_dim = c.n_head_kv * c.head_dim;
    const uint32_t n_ctx = c.pos0 + c.tokens + 2;
    const auto wide = random_floats(size_t{c.tokens} * stride, c.pos0 + 11, 1.5f);
    std::vector<float> q(size_t{c.tokens} * q_dim);
    for (uint32_t t = 0; t < c.tokens; ++t) std::copy_n(&wide[size_t{t} * stride], q_dim, &q[size_t{t} * q_dim]);
    const auto kc = random_floats(size_t{n_ctx} * kv_dim, c.pos0 + 12, 1.5f);
    const auto vc = random_floats(size_t{n_ctx} * kv_dim, c.pos0 + 13);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    Buffer wb = upload(wide), qb = upload(q), kb = upload(kc), vb = upload(vc), ob = zeros(q.size()), ob2 = zeros(q.size());
    kernels_->attention(all(wb), all(kb), all(vb), all(ob), c.tokens, c.n_head, c.n_head_kv, c.head_dim, c.pos0, 0, true,
                        scale, stride);
    kernels_->attention(all(qb), all(kb), all(vb), all(ob2), c.tokens, c.n_head, c.n_head_kv, c.head_dim, c.pos0, 0, true,
                        scale);
    const auto want =
        attention_reference(q, kc, vc, c.tokens, c.n_head, c.n_head_kv, c.head_dim, c.pos0, 0, true, scale);
    const auto got = download(ob, q.size());
    EXPECT_LE(worst_ratio(got, want, 2e-5, 1e-4), 1.0) << c.tokens << " tokens, stride " << stride;
    EXPECT_EQ(got, download(ob2, q.size())) << "strided and contiguous q differ";
  }
}

TEST_F(GpuKernels, SiluMul) {
  const uint32_t n = 383 * 7;
  const auto g = random_floats(n, 1, 3.0f), u = random_floats(n, 2);
  Buffer gb = upload(g), ub = upload(u), ob = zeros(n);
  kernels_->silu_mul(all(gb), all(ub), all(ob), n);
  std::vector<float> want(n);
  cpu::reference::silu_mul(g.data(), u.data(), want.data(), n);
  EXPECT_LE(worst_ratio(download(ob, n), want, 1e-7, 2e-6), 1.0);
}

// silu(gate) * up from the halves of fused rows [gate | up] of 2 * width.
TEST_F(GpuKernels, SiluMulHalves) {
  for (uint32_t tokens : {1u, 3u, 7u}) {
    for (uint32_t width : {37u, 383u, 1537u}) {
      const auto gu = random_floats(size_t{tokens} * 2 * width, tokens * 7 + width, 3.0f);
      Buffer gub = upload(gu), ob = zeros(size_t{tokens} * width);
      kernels_->silu_mul_halves(all(gub), all(ob), tokens, width);
      std::vector<float> want(size_t{tokens} * width);
      for (uint32_t t = 0; t < tokens; ++t) {
        cpu::reference::silu_mul(&gu[size_t{t} * 2 * width], &gu[size_t{t} * 2 * width + width], &want[size_t{t} * width], width);
      }
      EXPECT_LE(worst_ratio(download(ob, want.size()), want, 1e-7, 2e-6), 1.0) << tokens << "x" << width;
    }
  }
}

// GELU's erf comes from a fit (gelu.wgsl): within 1e-6 relative of double-precision erf, and of the
// CPU reference up to that reference's own f32 rounding of 1 + erf (6e-8 |x| for x < 0).
TEST_F(GpuKernels, GeluErf) {
  auto x = random_floats(383 * 3, 5, 2.0f);
  for (int i = -2000; i <= 2000; ++i) x.push_back(static_cast<float>(i) * 0.005f + 0.00123f);  // dense on [-10, 10]
  Buffer xb = upload(x);
  kernels_->gelu(all(xb), static_cast<uint32_t>(x.size()));
  const auto got = download(xb, x.size());
  auto cpu_ref = x;
  cpu::reference::gelu_erf_inplace(cpu_ref.data(), cpu_ref.size());
  double worst_exact = 0.0, worst_cpu = 0.0;
  float worst_x = 0.0f;
  for (size_t i = 0; i < x.size(); ++i) {
    const double exact = 0.5 * x[i] * std::erfc(-double(x[i]) / std::sqrt(2.0));
    const double rel = std::abs(got[i] - exact) / (1e-30 + std::abs(exact));
    if (rel > worst_exact) worst_exact = rel, worst_x = x[i];
    worst_cpu = std::max(worst_cpu, std::abs(double(got[i]) - cpu_ref[i]) / (1e-6 * std::abs(cpu_ref[i]) + 6e-8 * std::abs(x[i]) + 1e-30));
  }
  EXPECT_LT(worst_exact, 1e-6) << "at x = " << worst_x;
  EXPECT_LE(worst_cpu, 1.0);
}

TEST_F(GpuKernels, Add) {
  const uint32_t n = 383 * 3;
  auto x = random_floats(n, 1);
  const auto y = random_floats(n, 2);
  Buffer xb = upload(x), yb = upload(y);
  kernels_->add(all(xb), all(yb), n);
  for (uint32_t i = 0; i < n; ++i) x[i] += y[i];
  EXPECT_EQ(download(xb, n), x);
}

// More than 65535 workgroups: the grid wraps into a second dimension.
TEST_F(GpuKernels, AddBeyondOneGridRow) {
  const uint32_t n = 65535u * 256u + 37u;
  std::vector<float> x(n), y(n);
  for (uint32_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i % 1000) + 0.5f;
    y[i] = static_cast<float>(i % 7) + 0.25f;
  }
  Buffer xb = upload(x), yb = upload(y);
  kernels_->add(all(xb), all(yb), n);
  const auto got = download(xb, n);
  for (uint32_t i = 0; i < n; i += 4099) ASSERT_EQ(got[i], x[i] + y[i]) << i;
  EXPECT_EQ(got[n - 1], x[n - 1] + y[n - 1]);
}

TEST_F(GpuKernels, SoftmaxRows) {
  const uint32_t rows = 7, cols = 383;
  auto x = random_floats(rows * cols, 9, 4.0f);
  Buffer xb = upload(x);
  kernels_->softmax_rows(all(xb), rows, cols);
  for (uint32_t r = 0; r < rows; ++r) cpu::reference::softmax_inplace(&x[r * cols], cols);
  EXPECT_LE(worst_ratio(download(xb, x.size()), x, 1e-8, 1e-5), 1.0);
}

TEST_F(GpuKernels, MeanPool) {
  for (uint32_t tokens : {1u, 7u}) {
    const uint32_t dim = 383;
    const auto x = random_floats(tokens * dim, tokens);
    Buffer xb = upload(x), ob = zeros(dim);
    kernels_->mean_pool(all(xb), all(ob), tokens, dim);
    std::vector<float> want(dim);
    for (uint32_t d = 0; d < dim; ++d) {
      double s = 0.0;
      for (uint32_t t = 0; t < tokens; ++t) s += x[t * dim + d];
      want[d] = static_cast<float>(s / tokens);
    }
    EXPECT_LE(worst_ratio(download(ob, dim), want, 1e-6, 1e-6), 1.0);
  }
}

TEST_F(GpuKernels, L2Normalize) {
  const uint32_t dim = 383;
  auto x = random_floats(dim, 11, 3.0f);
  Buffer xb = upload(x);
  kernels_->l2_normalize(all(xb), dim);
  cpu::reference::l2_normalize_inplace(x.data(), dim);
  EXPECT_LE(worst_ratio(download(xb, dim), x, 1e-8, 2e-6), 1.0);
}

// Views at offsets: an op on rows 2.. of a larger buffer leaves the rows before them alone.
TEST_F(GpuKernels, OpsOnViewsAtOffsets) {
  const uint32_t dim = 64, rows = 5;  // 256-byte rows: storage offsets must be 256-aligned
  auto x = random_floats(rows * dim, 21);
  Buffer xb = upload(x);
  const uint64_t off = 2 * dim * sizeof(float);
  kernels_->softmax_rows({xb, off, 0}, rows - 2, dim);
  for (uint32_t r = 2; r < rows; ++r) cpu::reference::softmax_inplace(&x[r * dim], dim);
  EXPECT_LE(worst_ratio(download(xb, x.size()), x, 1e-8, 1e-5), 1.0);
}

TEST_F(GpuKernels, PrecompileCreatesEveryCollectedPipeline) {
  Buffer b = zeros(1024);
  kernels_->begin_collect();
  EXPECT_TRUE(kernels_->collecting());
  kernels_->rms_norm(all(b), all(b), all(b), 1, 8, 1e-5f);
  kernels_->layer_norm(all(b), all(b), all(b), all(b), 1, 8, 1e-5f);
  kernels_->rope(all(b), 1, 1, 8, 8, 0, 10000.0f);
  kernels_->rope_kv(all(b), all(b), all(b), 1, 24, 1, 1, 8, 8, 0, 10000.0f);
  kernels_->attention(all(b), all(b), all(b), all(b), 1, 1, 1, 16, 0, 1, true, 1.0f);
  kernels_->attention(all(b), all(b), all(b), all(b), 2, 1, 1, 16, 0, 1, true, 1.0f);
  kernels_->rope_kv_attention(all(b), all(b), all(b), all(b), 1, 1, 16, 16, 0, 10000.0f, 1.0f);
  kernels_->silu_mul(all(b), all(b), all(b), 8);
  kernels_->gelu(all(b), 8);
  kernels_->add(all(b), all(b), 8);
  kernels_->softmax_rows(all(b), 1, 8);
  kernels_->mean_pool(all(b), all(b), 1, 8);
  kernels_->l2_normalize(all(b), 8);
  kernels_->silu_mul_halves(all(b), all(b), 1, 8);  // silu_mul's pipeline again
  const auto descs = kernels_->end_collect();
  // One pipeline per op; attention: 2 prompt tiles, one one-token kernel with and one without
  // RoPE, the combine.
  EXPECT_EQ(descs.size(), 15u);
  device_->precompile(descs);
  for (const auto& d : descs) EXPECT_TRUE(device_->has_pipeline(d.key)) << d.key;
  EXPECT_EQ(download(b, 4), std::vector<float>(4, 0.0f));  // collecting dispatched nothing
}

}  // namespace
}  // namespace webaccel::gpu
