// The GPU matmul and embedding gather for every weight format the engine reads, on odd shapes,
// against the CPU reference: each CPU row dequantized by cpu::reference and dotted in double.
// Runs on whatever native WebGPU adapter is present (lavapipe in CTest), skips where there is none.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "cpu/quant_blocks.h"
#include "gpu/device.h"
#include "gpu/kernels.h"
#include "gpu/matmul_plan.h"
#include "gpu/weight_layout.h"
#include "gpu_test_fixture.h"

namespace webaccel::gpu {
namespace {

void put_half(uint8_t* p, float v) {
  const uint16_t h = float_to_half(v);
  std::memcpy(p, &h, 2);
}

// Random rows in the CPU layout of `type`: random codes, valid f16 scales (value range ~[-1, 1]).
std::vector<uint8_t> random_rows(GgmlType type, size_t rows, size_t cols, uint32_t seed) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  const size_t row_bytes = cols / traits->block_elems * traits->block_bytes;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<uint8_t> data(rows * row_bytes);
  for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
  const auto wq = wq_params(type);
  const auto wk = wk_bits(type);
  for (size_t r = 0; r < rows; r++) {
    uint8_t* row = data.data() + r * row_bytes;
    if (type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) {
      for (size_t i = 0; i < cols; i++) {
        const float v = unit(rng) * 2 - 1;
        if (type == GgmlType::kF32) std::memcpy(row + 4 * i, &v, 4);
        if (type == GgmlType::kF16) put_half(row + 2 * i, v);
        if (type == GgmlType::kBF16) {
          const uint16_t b = static_cast<uint16_t>(std::bit_cast<uint32_t>(v) >> 16);
          std::memcpy(row + 2 * i, &b, 2);
        }
      }
    } else if (wq) {
      const size_t group_bytes = 4 + wq->group * wq->bits / 8;
      for (size_t g = 0; g < cols / wq->group; g++) {
        put_half(row + g * group_bytes, 2.0f / (1 << wq->bits) * (0.5f + unit(rng)));
        put_half(row + g * group_bytes + 2, -unit(rng));
      }
    } else if (wk) {
      for (size_t s = 0; s < cols / kWkSuperBlock; s++) {
        put_half(row + s * (16 + 24 * *wk), 0.1f / (1 << *wk) * (0.5f + unit(rng)));
        put_half(row + s * (16 + 24 * *wk) + 2, 0.05f * unit(rng));
      }
    } else {  // Q4_0, Q4_1, Q8_0, Q5_0: the block starts with f16 d (Q4_1: then f16 m)
      for (size_t b = 0; b < cols / traits->block_elems; b++) {
        uint8_t* blk = row + b * traits->block_bytes;
        put_half(blk, (type == GgmlType::kQ8_0 ? 1.0f / 128 : 1.0f / 8) * (0.5f + unit(rng)));
        if (type == GgmlType::kQ4_1) put_half(blk + 2, -unit(rng));
      }
    }
  }
  return data;
}

struct CpuMatrix {
  std::vector<uint8_t> data;
  cpu::WeightMatrix m;
  std::vector<double> values;  // (rows, cols), dequantized by the CPU reference
};

CpuMatrix make_matrix(GgmlType type, size_t rows, size_t cols, uint32_t seed) {
  CpuMatrix c;
  c.data = random_rows(type, rows, cols, seed);
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  c.m = cpu::WeightMatrix{type, rows, cols, c.data.data(), cols / traits->block_elems * traits->block_bytes};
  c.values.resize(rows * cols);
  std::vector<float> row(cols);
  for (size_t r = 0; r < rows; r++) {
    cpu::reference::dequantize_row(type, c.m.row(r), row.data(), cols);
    for (size_t i = 0; i < cols; i++) c.values[r * cols + i] = row[i];
  }
  return c;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Random x whose every run of `unit` values is k * s / 127 with integer k (one |k| = 127) and a
// random scale s per run: gemv.wgsl's int8 x (one scale per 32 x, or per 16-byte unit where
// narrower) holds it exactly, so the products are checked at float tolerance whichever input the
// device's kernel uses.
std::vector<float> int8_exact_floats(size_t n, size_t unit, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> k(-127, 127);
  std::uniform_real_distribution<float> scale(0.25f, 1.0f);
  std::vector<float> v(n);
  for (size_t start = 0; start < n; start += unit) {
    const float s = scale(rng) / 127.0f;
    const size_t end = std::min(n, start + unit);
    for (size_t i = start; i < end; i++) v[i] = static_cast<float>(k(rng)) * s;
    v[start + rng() % (end - start)] = (rng() % 2 ? 127.0f : -127.0f) * s;
  }
  return v;
}

class GpuMatmul : public GpuTest {
 protected:
  void TearDown() override {
    set_binding_limit_for_testing(0);
    disable_subgroups_for_testing(false);
    disable_int8_x_for_testing(false);
    GpuTest::TearDown();
  }
  Buffer floats(const std::vector<float>& v) { return GpuTest::upload(v); }
  Buffer upload_u32(const std::vector<uint32_t>& v) {
    Buffer b = zeros(v.size());
    device_->write_buffer(b, 0, v.data(), v.size() * sizeof(uint32_t));
    return b;
  }
  GpuMatrix upload(const CpuMatrix& c) {
    GpuMatrix g = kernels_->upload(c.m, "test matrix");
    owned_.push_back(g.codes);
    if (g.scales) owned_.push_back(g.scales);
    return g;
  }

  // y = x Wᵀ (+ bias) (+ y0) on the GPU vs the reference; tol relative to sum |w x|.
  void check_matmul(GgmlType type, size_t rows, size_t cols, uint32_t tokens, bool bias, bool accumulate,
                    double tol = 2e-5) {
    SCOPED_TRACE(std::string(ggml_type_name(type)) + " " + std::to_string(rows) + "x" + std::to_string(cols) +
                 " tokens " + std::to_string(tokens));
    const CpuMatrix c = make_matrix(type, rows, cols, static_cast<uint32_t>(rows * 31 + cols + tokens));
    const GpuMatrix g = upload(c);
    EXPECT_EQ(g.rows, rows);
    const auto x = int8_exact_floats(tokens * cols, std::min<size_t>(32, unit_weights(gpu_format(type, cols)->bits)), 5);
    const auto b = random_floats(rows, 6);
    const auto y0 = random_floats(tokens * rows, 7);
    const Buffer xb = floats(x), bb = floats(b), yb = floats(y0);
    const BufferView bias_view{bb};
    kernels_->matmul(g, BufferView{xb}, BufferView{yb}, tokens, bias ? &bias_view : nullptr, accumulate);
    const auto y = download(yb, tokens * rows);
    double worst = 0;
    for (size_t t = 0; t < tokens; t++) {
      for (size_t r = 0; r < rows; r++) {
        double want = 0, mag = 0;
        for (size_t i = 0; i < cols; i++) {
          want += c.values[r * cols + i] * x[t * cols + i];
          mag += std::abs(c.values[r * cols + i] * x[t * cols + i]);
        }
        if (bias) want += b[r];
        if (accumulate) want += y0[t * rows + r];
        worst = std::max(worst, std::abs(y[t * rows + r] - want) / (mag + 1));
      }
    }
    EXPECT_LT(worst, tol);
  }
};

const GgmlType kGpuFormats[] = {
    GgmlType::kWQ2_G32, GgmlType::kWQ2_G64, GgmlType::kWQ2_G128, GgmlType::kWQ3_G32, GgmlType::kWQ3_G64,
    GgmlType::kWQ3_G128, GgmlType::kWQ4_G32, GgmlType::kWQ4_G64, GgmlType::kWQ4_G128, GgmlType::kWQ8_G32,
    GgmlType::kWQ8_G64, GgmlType::kWQ8_G128, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ8_0,
    GgmlType::kF32, GgmlType::kF16};

TEST_F(GpuMatmul, EveryFormatOddShapes) {
  for (GgmlType type : kGpuFormats) {
    const bool g128 = wq_params(type) && wq_params(type)->group == 128;  // rows hold whole groups
    check_matmul(type, 37, g128 ? 384 : 192, 1, false, false);
    check_matmul(type, 301, g128 ? 1152 : 576, 3, true, false);
    check_matmul(type, 5, 1536, 17, false, true);
  }
}

TEST_F(GpuMatmul, WorkgroupReductionWithoutSubgroups) {
  disable_subgroups_for_testing(true);
  check_matmul(GgmlType::kWQ3_G64, 37, 192, 1, true, false);
  check_matmul(GgmlType::kWK4, 19, 1536, 17, false, true);
  check_matmul(GgmlType::kF16, 37, 576, 3, false, false);
}

TEST_F(GpuMatmul, SuperBlockFormats) {
  for (GgmlType type : {GgmlType::kWK2, GgmlType::kWK3, GgmlType::kWK4}) {
    check_matmul(type, 37, 192, 1, false, false);
    check_matmul(type, 301, 576, 3, true, false);
    check_matmul(type, 5, 1536, 17, false, true);
  }
}

// gemv.wgsl (one token, quantized, subgroups): rows wider than one unit per thread, partial
// row tiles, bias and accumulate, and the tilings bench/gpu tries.
TEST_F(GpuMatmul, GemvTilings) {
  if (!device_->info().subgroups) GTEST_SKIP() << "gemv.wgsl needs subgroups";
  const GgmlType quantized[] = {GgmlType::kWQ2_G64, GgmlType::kWQ3_G32, GgmlType::kWQ4_G128, GgmlType::kWQ8_G32,
                                GgmlType::kQ4_0,    GgmlType::kQ4_1,    GgmlType::kQ8_0,     GgmlType::kWK3};
  for (GgmlType type : quantized) {
    ASSERT_TRUE(gemv_tiling(*gpu_format(type, 4608), 45, 4608, true).has_value());
    check_matmul(type, 45, 4608, 1, true, true);  // 72..288 units: up to 3 per thread
  }
  check_matmul(GgmlType::kWQ3_G64, 3, 192 * 5, 1, false, false);  // fewer rows than a tile
  check_matmul(GgmlType::kWQ8_G32, 45, 2048, 1, true, false);      // 8 bits, int8 x: two units, one quad a step
  // The last two cap the grid below the tile count: workgroups loop over tiles (hoisted loads on
  // and, at 4 units x 2 quads a step, off).
  for (const GemvTuning& t :
       {GemvTuning{0, 1, 1, 1}, GemvTuning{256, 0, 8, 4}, GemvTuning{32, 4, 2, 2}, GemvTuning{64, 0, 4, 1},
        GemvTuning{0, 1, 8, 2},  // tall matrices of short rows at 2-4 bits
        GemvTuning{0, 0, 0, 0, false, 1}, GemvTuning{32, 4, 2, 2, false, 2}}) {
    override_gemv_for_tuning(t);
    check_matmul(GgmlType::kWQ4_G32, 77, 4096, 1, true, false);
    check_matmul(GgmlType::kWQ2_G32, 13, 2048, 1, false, true);
  }
  override_gemv_for_tuning({});
}

// The same single-token products with x kept in f32 (devices without dot4I8Packed).
TEST_F(GpuMatmul, GemvFloatInput) {
  if (!device_->info().subgroups) GTEST_SKIP() << "gemv.wgsl needs subgroups";
  disable_int8_x_for_testing(true);
  for (GgmlType type : {GgmlType::kWQ2_G64, GgmlType::kWQ3_G32, GgmlType::kWQ4_G128, GgmlType::kWQ8_G32,
                        GgmlType::kQ8_0, GgmlType::kWK3}) {
    check_matmul(type, 45, 4608, 1, true, true);
  }
}

// gemv.wgsl's computed inputs: y (+)= (RMSNorm(x) * norm) · Wᵀ and y (+)= (SiLU(gate) * up) · Wᵀ.
// With int8 x (dot4I8Packed devices) the computed inputs are quantized per 32: error up to
// amax / 254 per x, at most 2.0e-3 of sum |w x| here (SiLU(gate) * up of random x has a heavy
// tail, so amax is far above the typical |x|), hence the wider bound.
TEST_F(GpuMatmul, GemvFusedInputs) {
  if (!device_->info().subgroups) GTEST_SKIP() << "gemv.wgsl needs subgroups";
  const float eps = 1e-5f;
  for (uint32_t grid : {0u, 2u}) {  // 2: each workgroup loops over the 37 rows' tiles
  override_gemv_for_tuning(GemvTuning{0, 0, 0, 0, false, grid});
  for (bool int8_x : {true, false}) {
  if (grid && !int8_x) continue;  // the loop over tiles is the same for both inputs
  disable_int8_x_for_testing(!int8_x);
  const double tol = int8_x && use_int8_x(device_->info().packed_dot4) ? 3e-3 : 2e-5;
  for (GgmlType type : {GgmlType::kWQ3_G64, GgmlType::kWK2}) {
    for (size_t cols : {size_t{576}, size_t{4608}}) {
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(std::string(ggml_type_name(type)) + " cols " + std::to_string(cols) +
                     (accumulate ? " accumulate" : ""));
        const size_t rows = 37;
        const CpuMatrix c = make_matrix(type, rows, cols, static_cast<uint32_t>(cols + accumulate));
        const GpuMatrix g = upload(c);
        ASSERT_TRUE(kernels_->gemv_fusable(g));
        const auto x = random_floats(2 * cols, 11), norm = random_floats(cols, 12), y0 = random_floats(rows, 13);
        // The inputs the fused kernels compute, in double.
        double ss = 0;
        for (size_t i = 0; i < cols; i++) ss += double{x[i]} * x[i];
        const double scale = 1.0 / std::sqrt(ss / cols + eps);
        std::vector<double> normed(cols), gated(cols);
        for (size_t i = 0; i < cols; i++) {
          normed[i] = x[i] * scale * norm[i];
          gated[i] = x[i] / (1.0 + std::exp(-double{x[i]})) * x[cols + i];
        }
        const Buffer xb = floats(x), nb = floats(norm), y1 = floats(y0), y2 = floats(y0);
        kernels_->gemv_rms_normed(g, BufferView{xb}, BufferView{nb}, eps, BufferView{y1}, accumulate);
        kernels_->gemv_gated(g, BufferView{xb}, BufferView{y2}, accumulate);
        const auto got_normed = download(y1, rows), got_gated = download(y2, rows);
        for (size_t r = 0; r < rows; r++) {
          double want_n = accumulate ? y0[r] : 0, want_g = want_n, mag_n = 0, mag_g = 0;
          for (size_t i = 0; i < cols; i++) {
            want_n += c.values[r * cols + i] * normed[i];
            want_g += c.values[r * cols + i] * gated[i];
            mag_n += std::abs(c.values[r * cols + i] * normed[i]);
            mag_g += std::abs(c.values[r * cols + i] * gated[i]);
          }
          EXPECT_LT(std::abs(got_normed[r] - want_n) / (mag_n + 1), tol) << "row " << r;
          EXPECT_LT(std::abs(got_gated[r] - want_g) / (mag_g + 1), tol) << "row " << r << " grid " << grid;
        }
      }
    }
  }
  }
  }
  override_gemv_for_tuning({});
}

TEST_F(GpuMatmul, FormatsWithoutKernelConvertToF16) {
  // BF16 and Q5_0 have no GPU kernel; WQ2/WQ3 rows of 96 are not whole 64-weight units.
  for (GgmlType type : {GgmlType::kBF16, GgmlType::kQ5_0, GgmlType::kWQ2_G32, GgmlType::kWQ3_G32}) {
    const size_t cols = wq_params(type) ? 96 : 192;
    EXPECT_FALSE(gpu_format(type, cols).has_value());
    check_matmul(type, 23, cols, 1, false, false, 1e-3);  // f16 rounding of each weight
  }
}

TEST_F(GpuMatmul, BytesPerWeightAreTheCpuFormats) {
  for (GgmlType type : kGpuFormats) {
    const CpuMatrix c = make_matrix(type, 7, 384, 1);
    const PackedMatrix p = pack_matrix(c.m);
    const uint64_t scale_bytes = p.rows * row_bytes(p.format, p.cols).scales;
    EXPECT_EQ(p.codes.size() + scale_bytes, c.data.size()) << ggml_type_name(type);
  }
}

TEST_F(GpuMatmul, RowRangesAcrossBindings) {
  // A small binding limit splits each matrix into several row ranges bound at aligned offsets.
  for (GgmlType type : {GgmlType::kWQ4_G32, GgmlType::kWQ3_G64, GgmlType::kQ8_0, GgmlType::kWK2, GgmlType::kF16}) {
    const RowBytes rb = row_bytes(*gpu_format(type, 576), 576);
    set_binding_limit_for_testing(256 + 4 + 7 * std::max({rb.codes, rb.hi, rb.scales}));
    EXPECT_GT(split_rows(*gpu_format(type, 576), 61, 576, binding_limit(UINT64_MAX), 1u << 20).size(), 1u);
    check_matmul(type, 61, 576, 1, true, false);
    check_matmul(type, 61, 576, 3, false, true);
    set_binding_limit_for_testing(0);
  }
}

TEST_F(GpuMatmul, EmbedRows) {
  for (GgmlType type : {GgmlType::kWQ2_G64, GgmlType::kWQ3_G32, GgmlType::kWQ4_G128, GgmlType::kWQ8_G32,
                        GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kWK3, GgmlType::kF32, GgmlType::kF16}) {
    for (uint64_t limit : {uint64_t{0}, uint64_t{2048}}) {
      SCOPED_TRACE(std::string(ggml_type_name(type)) + " limit " + std::to_string(limit));
      set_binding_limit_for_testing(limit);
      const size_t rows = 41, cols = 384;
      const CpuMatrix c = make_matrix(type, rows, cols, 3);
      const GpuMatrix g = upload(c);
      const std::vector<uint32_t> ids = {40, 0, 7, 7, 23};
      const Buffer ib = upload_u32(ids);
      const Buffer out = zeros(ids.size() * cols);
      kernels_->embed_rows(g, BufferView{ib}, BufferView{out}, static_cast<uint32_t>(ids.size()));
      const auto got = download(out, ids.size() * cols);
      for (size_t t = 0; t < ids.size(); t++) {
        for (size_t i = 0; i < cols; i++) {
          ASSERT_NEAR(got[t * cols + i], c.values[ids[t] * cols + i], 1e-6) << "token " << t << " col " << i;
        }
      }
    }
  }
}

TEST_F(GpuMatmul, OneRowBeyondTheBindingLimitNamesTheTensor) {
  const CpuMatrix c = make_matrix(GgmlType::kF32, 2, 1024, 1);  // 4096-byte rows
  set_binding_limit_for_testing(2048);
  try {
    kernels_->upload(c.m, "blk.0.too_wide");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.too_wide"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace webaccel::gpu
