// The wasm kernels against the scalar reference on random odd sizes, as a standalone program for a
// wasm engine (gtest is not built for Emscripten here). Built as webaccel-kernel-check with relaxed
// SIMD; tests/browser/kernel_check.mjs runs it in Chromium. Prints one line per failure, exits 1.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/packed_f32.h"
#include "cpu/quant_blocks.h"
#include "cpu/reference_ops.h"

using namespace webaccel;
using namespace webaccel::cpu;

namespace {

int failures = 0, checks = 0;

void expect_near(float got, float want, float rel, const char* what, size_t n, size_t a, size_t b) {
  ++checks;
  if (std::fabs(got - want) <= rel * (1.0f + std::fabs(want))) return;
  if (++failures <= 20) std::printf("FAIL %s n=%zu (%zu, %zu): %.9g vs reference %.9g\n", what, n, a, b, got, want);
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Valid blocks (WQ: groups): any code bytes (Q8_0 -128 included), finite fp16 scales and mins.
std::vector<uint8_t> random_rows(GgmlType type, size_t rows, size_t n, uint32_t seed) {
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(rows * n / traits.block_elems * traits.block_bytes);
  if (type == GgmlType::kF32) {
    const auto f = random_floats(rows * n, seed);
    std::memcpy(bytes.data(), f.data(), bytes.size());
    return bytes;
  }
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  for (size_t off = 0; off < bytes.size(); off += traits.block_bytes) {
    const uint16_t d = float_to_half(scale(rng)), m = float_to_half(-8 * scale(rng));
    std::memcpy(&bytes[off], &d, 2);
    if (type == GgmlType::kQ4_1 || wq_params(type) || wk_bits(type)) std::memcpy(&bytes[off + 2], &m, 2);
  }
  return bytes;
}

void check_format(GgmlType type) {
  const std::string name(ggml_type_name(type));
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  // WQ8 codes reach 255: the q*d and m*s terms that cancel are 16x those of 4-bit codes, and so is
  // the difference that float summation order makes (both sides sum in float).
  const auto wq = wq_params(type);
  const float tol = wq && wq->bits == 8 ? 2e-4f : 5e-5f;
  for (size_t n : {32u, 96u, 160u, 384u, 576u, 640u, 1536u, 1568u}) {
    if (n % traits.block_elems != 0) continue;
    for (size_t rows : {1u, 3u, 7u, 17u, 34u}) {
      for (size_t tokens : {1u, 2u, 3u, 5u, 9u}) {
        const size_t row_bytes = n / traits.block_elems * traits.block_bytes;
        const auto w = random_rows(type, rows, n, static_cast<uint32_t>(31 * n + rows));
        const size_t act_bytes = activation_row_bytes(type, n);
        std::vector<uint8_t> act(tokens * act_bytes);
        for (size_t t = 0; t < tokens; ++t) {
          const auto x = random_floats(n, static_cast<uint32_t>(7 * n + t));
          quantize_activation(type, x.data(), act.data() + t * act_bytes, n);
        }
        const size_t out_stride = rows + 2;
        std::vector<float> out(tokens * out_stride, -1.0f);
        dot_rows_tokens(type, w.data(), row_bytes, rows, act.data(), act_bytes, tokens, n, out.data(), out_stride);
        std::vector<float> single(rows);
        for (size_t t = 0; t < tokens; ++t) {
          dot_rows(type, w.data(), row_bytes, rows, act.data() + t * act_bytes, n, single.data());
          for (size_t r = 0; r < rows; ++r) {
            const float ref = reference::dot_row(type, w.data() + r * row_bytes, act.data() + t * act_bytes, n);
            expect_near(out[t * out_stride + r], ref, tol, name.c_str(), n, t, r);
            expect_near(single[r], ref, tol, name.c_str(), n, t, r);
            // One token (rows several at a time) and token tiles (one row at a time): the same floats.
            ++checks;
            if (std::memcmp(&single[r], &out[t * out_stride + r], sizeof(float)) != 0 && ++failures <= 20) {
              std::printf("FAIL %s n=%zu (%zu, %zu): one token %.9g, token tile %.9g (not bit for bit)\n", name.c_str(), n, t, r,
                          single[r], out[t * out_stride + r]);
            }
          }
          expect_near(out[t * out_stride + rows], -1.0f, 0.0f, "wrote past the rows", n, t, rows);
        }
      }
    }
  }
}

void check_dot_f32() {
  for (size_t n : {1u, 3u, 4u, 7u, 8u, 31u, 32u, 33u, 384u, 1001u}) {
    const auto a = random_floats(n, static_cast<uint32_t>(n)), b = random_floats(n, static_cast<uint32_t>(n + 1));
    double ref = 0;
    for (size_t i = 0; i < n; ++i) ref += static_cast<double>(a[i]) * b[i];
    expect_near(dot_f32(a.data(), b.data(), n), static_cast<float>(ref), 2e-6f * std::sqrt(static_cast<float>(n)), "dot_f32", n, 0, 0);
  }
}

// GELU (a rational erf; erfc with an exp of its own for vectors below -3) and one attention head,
// as the BERT forward calls them, against the scalar reference and the exact GELU.
void check_gelu_attention() {
  for (size_t n : {1u, 3u, 4u, 15u, 16u, 17u, 1537u}) {
    auto x = random_floats(n, static_cast<uint32_t>(n + 3));
    for (auto& e : x) e *= 3.0f;
    auto ref = x;
    gelu_erf_inplace(x.data(), n);
    reference::gelu_erf_inplace(ref.data(), n);
    for (size_t i = 0; i < n; ++i) expect_near(x[i], ref[i], 1e-6f, "gelu_erf", n, i, 0);
  }
  std::vector<float> grid;  // against the exact x Phi(x), both paths mixed (shuffled)
  for (int i = -16000; i <= 16000; ++i) grid.push_back(static_cast<float>(i) * 1e-3f);
  std::shuffle(grid.begin(), grid.end(), std::mt19937(7));
  auto g = grid;
  gelu_erf_inplace(g.data(), g.size());
  for (size_t i = 0; i < grid.size(); ++i) {
    const double exact = 0.5 * grid[i] * (1.0 + std::erf(grid[i] / std::sqrt(2.0)));
    expect_near(g[i], static_cast<float>(exact), 6e-7f, "gelu_erf vs exact", grid.size(), i, 0);
  }
  for (size_t n : {1u, 4u, 5u, 17u, 33u}) {
    for (size_t hd : {7u, 32u, 35u}) {
      const size_t stride = 3 * hd;
      const auto qkv = random_floats(n * stride, static_cast<uint32_t>(n * 31 + hd));
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      std::vector<float> out(n * hd), ref(n * hd), scratch((n + 15) / 16 * 16);
      attend_head(qkv.data(), qkv.data() + hd, qkv.data() + 2 * hd, stride, n, hd, scale, out.data(), hd, scratch.data());
      reference::attend_head(qkv.data(), qkv.data() + hd, qkv.data() + 2 * hd, stride, n, hd, scale, ref.data(), hd);
      for (size_t i = 0; i < n * hd; ++i) expect_near(out[i], ref[i], 2e-6f, "attend_head", n, i / hd, i % hd);
    }
  }
}

// The batched attention kernels (several keys and up to three query heads a pass, halves converted
// with 2^112 moved to the other factor) give exactly the floats of one dot_f16_f32 / axpy_f16 per
// row and vector, special halves included.
void check_f16_rows() {
  const uint16_t specials[] = {0x0000, 0x8000, 0x0001, 0x83ff, 0x0200, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00};
  auto same = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  for (size_t n : {1u, 3u, 4u, 7u, 8u, 12u, 33u, 64u, 65u, 100u}) {
    for (size_t rows : {1u, 2u, 3u, 4u, 5u, 9u, 17u}) {
      for (size_t n_b : {1u, 2u, 3u, 4u, 5u}) {
        for (float magnitude : {1.0f, 1e5f}) {  // 1e5: past 2^16, where the kernels fall back
          const size_t stride = n + 3, b_stride = n + 1, out_stride = rows + 2;
          const auto f = random_floats(rows * stride, static_cast<uint32_t>(7 * n + rows + 100 * n_b));
          std::mt19937 rng(static_cast<uint32_t>(n * rows + n_b));
          std::vector<uint16_t> a(rows * stride);
          for (size_t i = 0; i < a.size(); ++i) a[i] = rng() % 7 == 0 ? specials[rng() % 10] : float_to_half(3.0f * f[i]);
          auto b = random_floats(n_b * b_stride, static_cast<uint32_t>(n + 11 * rows + n_b));
          for (auto& x : b) x *= magnitude;
          b[0] = 1e-40f;
          std::vector<float> out(n_b * out_stride, -1.0f);
          dot_f16_f32_rows(a.data(), stride, rows, b.data(), b_stride, n_b, n, out.data(), out_stride);
          for (size_t g = 0; g < n_b; ++g) {
            for (size_t j = 0; j < rows; ++j) {
              ++checks;
              const float want = dot_f16_f32(a.data() + j * stride, b.data() + g * b_stride, n);
              if (!same(out[g * out_stride + j], want) && ++failures <= 20) {
                std::printf("FAIL dot_f16_f32_rows n=%zu vector %zu row %zu: %.9g vs %.9g\n", n, g, j, out[g * out_stride + j], want);
              }
            }
            expect_near(out[g * out_stride + rows], -1.0f, 0.0f, "dot_f16_f32_rows wrote past the rows", n, rows, g);
          }
          const size_t w_stride = rows + 1, y_stride = n + 2;
          auto w = random_floats(n_b * w_stride, static_cast<uint32_t>(n * 3 + rows + n_b));
          for (auto& x : w) x = half_to_float(float_to_half(std::fabs(x)));
          if (magnitude > 1.0f) w[(n_b - 1) * w_stride + rows / 2] = 70000.0f;
          auto y = random_floats(n_b * y_stride, static_cast<uint32_t>(n + rows + n_b)), y_ref = y;
          axpy_f16_rows(w.data(), w_stride, a.data(), stride, rows, y.data(), y_stride, n_b, n);
          for (size_t g = 0; g < n_b; ++g) {
            for (size_t j = 0; j < rows; ++j) axpy_f16(w[g * w_stride + j], a.data() + j * stride, y_ref.data() + g * y_stride, n);
          }
          for (size_t i = 0; i < y.size(); ++i) {
            ++checks;
            if (!same(y[i], y_ref[i]) && ++failures <= 20) {
              std::printf("FAIL axpy_f16_rows n=%zu rows %zu vectors %zu at %zu: %.9g vs %.9g\n", n, rows, n_b, i, y[i], y_ref[i]);
            }
          }
        }
      }
    }
  }
}

// f32 -> f16 (the KV cache's rows) rounds to nearest even like the scalar conversion, ties,
// subnormals, overflow and odd lengths included.
void check_f32_to_f16() {
  auto x = random_floats(1001, 77);
  for (size_t i = 0; i < x.size(); i += 5) x[i] *= 1e-5f;  // subnormal halves
  const float edges[] = {65504.0f, 65520.0f, 1e6f, -1e6f, 1e-8f, -0.0f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048,
                         2049.0f, 2051.0f, 6.1e-5f};
  std::copy(std::begin(edges), std::end(edges), x.begin());
  // Every half's rounding boundary (the midpoint to the next half, and the floats either side of
  // it), both signs, then infinities and NaN: the wasm conversion rounds with its own arithmetic.
  for (uint16_t h = 0; h < 0x7c00; ++h) {
    const double next = h + 1 < 0x7c00 ? half_to_float(static_cast<uint16_t>(h + 1)) : 65536.0;
    const float mid = static_cast<float>((half_to_float(h) + next) / 2);
    for (float v : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f)}) {
      x.push_back(v);
      x.push_back(-v);
    }
  }
  for (float v : {INFINITY, -INFINITY, NAN, -NAN}) x.push_back(v);
  for (size_t n : {size_t{1}, size_t{7}, size_t{64}, size_t{1001}, x.size()}) {
    std::vector<uint16_t> y(n, 0xffff);
    f32_to_f16(x.data(), y.data(), n);
    std::vector<float> r(x.begin(), x.begin() + n);
    f16_round_inplace(r.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ++checks;
      const uint16_t want = float_to_half(x[i]);
      const float want_rounded = half_to_float(want);
      if ((y[i] != want || std::memcmp(&r[i], &want_rounded, sizeof want_rounded) != 0) && ++failures <= 20) {
        std::printf("FAIL f32_to_f16 n=%zu at %zu: %.9g -> 0x%04x (round %.9g) vs 0x%04x\n", n, i, x[i], y[i], r[i], want);
      }
    }
  }
}

// The packed outer-product product (bias included) against a double one: partial last panels,
// token counts around the register tile's (6 tokens relaxed, 5 SIMD128) and several tiles' worth.
void check_packed_f32() {
  for (size_t cols : {1u, 3u, 31u, 384u, 385u}) {
    for (size_t rows : {1u, 7u, 17u, 40u}) {
      for (size_t tokens : {1u, 4u, 5u, 6u, 7u, 11u, 13u, 17u, 61u}) {
        const auto w = random_floats(rows * cols, static_cast<uint32_t>(cols + rows)), b = random_floats(rows, 5);
        const auto x = random_floats(tokens * cols, static_cast<uint32_t>(tokens));
        const WeightMatrix m{GgmlType::kF32, rows, cols, reinterpret_cast<const uint8_t*>(w.data()), cols * sizeof(float)};
        const WeightMatrix* parts[] = {&m};
        const std::vector<float>* biases[] = {&b};
        const auto packed = pack_f32_rows(parts, biases);
        const size_t out_stride = rows + 1;
        std::vector<float> out(tokens * out_stride, -1.0f);
        packed_f32_panels(packed, 0, packed.n_panels(), x.data(), cols, tokens, out.data(), out_stride);
        for (size_t t = 0; t < tokens; ++t) {
          for (size_t r = 0; r < rows; ++r) {
            double ref = b[r];
            for (size_t k = 0; k < cols; ++k) ref += static_cast<double>(w[r * cols + k]) * x[t * cols + k];
            expect_near(out[t * out_stride + r], static_cast<float>(ref), 2e-5f * std::sqrt(static_cast<float>(cols)),
                        "packed_f32", cols, t, r);
          }
          expect_near(out[t * out_stride + rows], -1.0f, 0.0f, "packed_f32 wrote past the rows", cols, t, rows);
        }
      }
    }
  }
}

}  // namespace

int main() {
  std::printf("SIMD target: %s\n", simd_target_name());
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ8_0, GgmlType::kF32, GgmlType::kF16,
                        GgmlType::kWQ2_G32, GgmlType::kWQ2_G128, GgmlType::kWQ3_G32, GgmlType::kWQ3_G64,
                        GgmlType::kWQ4_G64, GgmlType::kWQ8_G128, GgmlType::kWK3})
    check_format(type);
  check_dot_f32();
  check_gelu_attention();
  check_f16_rows();
  check_f32_to_f16();
  check_packed_f32();
  std::printf("%d of %d checks failed\n", failures, checks);
  return failures == 0 ? 0 : 1;
}
