#include "gpu/selftest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fp16.h"
#include "core/thread_pool.h"
#include "cpu/quant_blocks.h"
#include "cpu/reference_ops.h"
#include "gpu/weight_layout.h"
#include "quant/wq_quantize.h"

namespace webaccel::gpu {
namespace {

BufferView all(Buffer b) { return {b, 0, 0}; }

// A weight matrix and the bytes it points into.
struct HostMatrix {
  std::vector<uint8_t> bytes;
  cpu::WeightMatrix m;
  std::vector<float> dense() const {  // (rows, cols) dequantized
    std::vector<float> out(m.rows * m.cols);
    for (size_t r = 0; r < m.rows; ++r) cpu::reference::dequantize_row(m.type, m.row(r), &out[r * m.cols], m.cols);
    return out;
  }
};

// y(tokens, rows) = x · Wᵀ (+ bias) (+ y0), accumulated in double.
std::vector<float> matmul_reference(const std::vector<float>& w, const std::vector<float>& x, size_t tokens, size_t rows,
                                    size_t cols, const std::vector<float>* bias, const std::vector<float>* y0) {
  std::vector<float> y(tokens * rows);
  for (size_t t = 0; t < tokens; ++t) {
    for (size_t r = 0; r < rows; ++r) {
      double s = bias ? (*bias)[r] : 0.0;
      for (size_t c = 0; c < cols; ++c) s += static_cast<double>(w[r * cols + c]) * x[t * cols + c];
      y[t * rows + r] = static_cast<float>(s + (y0 ? (*y0)[t * rows + r] : 0.0));
    }
  }
  return y;
}

}  // namespace

KernelSelftest::KernelSelftest(Kernels& kernels, uint64_t seed) : k_(kernels), seed_(seed), state_(seed * 0x9E3779B97F4A7C15ull + 1) {}

KernelSelftest::~KernelSelftest() {
  if (k_.device().lost()) return;
  for (auto b : owned_) k_.device().release(b);
}

// splitmix64: the same numbers natively and in wasm (std distributions differ between libraries).
std::vector<float> KernelSelftest::random(size_t n, float scale) {
  std::vector<float> v(n);
  for (auto& x : v) {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    x = scale * (static_cast<float>(z >> 40) / static_cast<float>(1ull << 24) * 2.0f - 1.0f);
  }
  return v;
}

std::vector<float> KernelSelftest::int8_exact(size_t n, size_t run) {
  std::vector<float> v = random(n);
  const std::vector<float> scales = random((n + run - 1) / run);
  for (size_t start = 0, r = 0; start < n; start += run, ++r) {
    const size_t end = std::min(n, start + run);
    const float s = (0.25f + 0.75f * std::fabs(scales[r])) / 127.0f;
    size_t widest = start;
    for (size_t i = start; i < end; ++i) {
      if (std::fabs(v[i]) > std::fabs(v[widest])) widest = i;
      v[i] = static_cast<float>(std::lround(v[i] * 127.0f));
    }
    v[widest] = v[widest] < 0 ? -127.0f : 127.0f;  // the run's max sets its scale
    for (size_t i = start; i < end; ++i) v[i] *= s;
  }
  return v;
}

Buffer KernelSelftest::upload(const std::vector<float>& v, const char* name) {
  return owned_.emplace_back(k_.upload_f32(v.data(), v.size(), name));
}

Buffer KernelSelftest::upload_u32(const std::vector<uint32_t>& v, const char* name) {
  Buffer b = owned_.emplace_back(k_.device().create_buffer(v.size() * 4, name));
  k_.device().write_buffer(b, 0, v.data(), v.size() * 4);
  return b;
}

Buffer KernelSelftest::zeros(size_t floats, const char* name) {
  return owned_.emplace_back(k_.device().create_buffer(floats * sizeof(float), name));
}

void KernelSelftest::expect(std::string name, Buffer out, std::vector<float> expected, double tolerance) {
  cases_.push_back(Case{std::move(name), out, std::move(expected), {}, tolerance, {}});
}

std::vector<Readback> KernelSelftest::enqueue() {
  // Each family runs on its own: an op that throws fails its case, the others still run.
  auto guard = [&](const char* family, auto&& body) {
    try {
      body();
    } catch (const DeviceLost&) {
      throw;
    } catch (const std::exception& e) {
      cases_.push_back(Case{family, {}, {}, {}, 0, e.what()});
    }
  };
  guard("matmul", [&] { matmul_cases(); });
  guard("rms_norm / layer_norm / softmax_rows / l2_normalize / mean_pool", [&] { row_op_cases(); });
  guard("rope / kv_append / rope_kv", [&] { rope_cases(); });
  guard("attention", [&] { attention_cases(); });
  guard("silu_mul / silu_mul_halves / gelu / add", [&] { elementwise_cases(); });
  k_.device().submit();
  std::vector<Readback> reads;
  for (auto& c : cases_) {
    if (!c.error.empty()) continue;
    c.got.assign(c.expected.size(), NAN);
    reads.push_back({c.out, 0, c.got.size() * sizeof(float), c.got.data()});
  }
  return reads;
}

void KernelSelftest::matmul_cases() {
  ThreadPool pool(1);
  // Odd row counts, several token counts (GEMV and tiled GEMM paths), every format with a kernel.
  const std::pair<GgmlType, const char*> formats[] = {
      {GgmlType::kF32, "f32"},        {GgmlType::kF16, "f16"},        {GgmlType::kQ8_0, "q8_0"},
      {GgmlType::kQ4_1, "q4_1"},      {GgmlType::kWQ2_G32, "wq2_g32"}, {GgmlType::kWQ3_G64, "wq3_g64"},
      {GgmlType::kWQ4_G128, "wq4_g128"}, {GgmlType::kWQ8_G32, "wq8_g32"}, {GgmlType::kWK2, "wk2"},
      {GgmlType::kWK3, "wk3"},        {GgmlType::kWK4, "wk4"}};
  const size_t rows = 67, cols = 384;  // cols: a multiple of 32, 64, 128 and 192
  for (const auto& [type, tname] : formats) {
    const auto dense = random(rows * cols, 0.5f);
    HostMatrix h;
    h.m.type = type;
    h.m.rows = rows;
    h.m.cols = cols;
    if (type == GgmlType::kF32) {
      h.bytes.resize(dense.size() * 4);
      std::memcpy(h.bytes.data(), dense.data(), h.bytes.size());
    } else if (type == GgmlType::kF16) {
      h.bytes.resize(dense.size() * 2);
      for (size_t i = 0; i < dense.size(); ++i) reinterpret_cast<uint16_t*>(h.bytes.data())[i] = float_to_half(dense[i]);
    } else if (type == GgmlType::kQ8_0 || type == GgmlType::kQ4_1) {
      const auto codes = random(rows * cols, 1.0f);  // random codes under moderate scales
      const size_t blocks = rows * cols / kQK;
      if (type == GgmlType::kQ8_0) {
        std::vector<BlockQ8_0> b(blocks);
        for (size_t i = 0; i < blocks; ++i) {
          b[i].d = float_to_half(0.004f + 0.002f * std::fabs(codes[i]));
          for (size_t j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(std::lround(codes[i * kQK + j] * 127));
        }
        h.bytes.assign(reinterpret_cast<uint8_t*>(b.data()), reinterpret_cast<uint8_t*>(b.data() + blocks));
      } else {
        std::vector<BlockQ4_1> b(blocks);
        for (size_t i = 0; i < blocks; ++i) {
          b[i].d = float_to_half(0.03f + 0.02f * std::fabs(codes[i]));
          b[i].m = float_to_half(-0.25f * std::fabs(codes[blocks - 1 - i]));
          for (size_t j = 0; j < kQK / 2; ++j) {
            const auto lo = static_cast<uint8_t>(std::lround(std::fabs(codes[i * kQK + 2 * j]) * 15));
            const auto hi = static_cast<uint8_t>(std::lround(std::fabs(codes[i * kQK + 2 * j + 1]) * 15));
            b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
          }
        }
        h.bytes.assign(reinterpret_cast<uint8_t*>(b.data()), reinterpret_cast<uint8_t*>(b.data() + blocks));
      }
    } else {
      h.bytes = quant::quantize_matrix_wq(type, dense.data(), rows, cols, nullptr, pool);
    }
    h.m.data = h.bytes.data();
    h.m.row_bytes = h.bytes.size() / rows;
    const auto w = h.dense();
    const GpuMatrix g = k_.upload(h.m, std::string("selftest ") + tname);
    for (Buffer b : {g.codes, g.scales}) {
      if (b) owned_.push_back(b);
    }
    // x exact in int8 per 32 (per 16 at 8 bits): one-token products may quantize x (gemv.wgsl).
    const auto resident = gpu_format(type, cols);
    const size_t x_run = resident ? std::min<size_t>(32, unit_weights(resident->bits)) : 32;
    for (const uint32_t tokens : {1u, 5u}) {
      const auto x = int8_exact(tokens * cols, x_run);
      const Buffer xb = upload(x, "matmul x");
      const Buffer y = zeros(tokens * rows, "matmul y");
      k_.matmul(g, all(xb), all(y), tokens);
      expect(std::string("matmul ") + tname + " " + std::to_string(rows) + "x" + std::to_string(cols) + ", " +
                 std::to_string(tokens) + " token(s)",
             y, matmul_reference(w, x, tokens, rows, cols, nullptr, nullptr));
    }
    if (type == GgmlType::kF32 || type == GgmlType::kQ4_1) {  // bias and accumulate, once per path
      const uint32_t tokens = 3;
      const auto x = random(tokens * cols), bias = random(rows), y0 = random(tokens * rows);
      const Buffer xb = upload(x, "matmul x"), bb = upload(bias, "matmul bias"), yb = upload(y0, "matmul y0");
      const BufferView bv = all(bb);
      k_.matmul(g, all(xb), all(yb), tokens, &bv, /*accumulate=*/true);
      expect(std::string("matmul ") + tname + " + bias, accumulate, 3 tokens", yb,
             matmul_reference(w, x, tokens, rows, cols, &bias, &y0));
    }
    if (type == GgmlType::kQ4_1 || type == GgmlType::kF16) {  // the embedding gather of the same table
      const std::vector<uint32_t> ids = {3, 66, 0, 3, 41};
      const Buffer idb = upload_u32(ids, "embed ids");
      const Buffer out = zeros(ids.size() * cols, "embed out");
      k_.embed_rows(g, all(idb), all(out), static_cast<uint32_t>(ids.size()));
      std::vector<float> want;
      for (auto id : ids) want.insert(want.end(), w.begin() + id * cols, w.begin() + (id + 1) * cols);
      expect(std::string("embed_rows ") + tname + ", 5 ids", out, want, 1e-6);
    }
  }
}

void KernelSelftest::row_op_cases() {
  const uint32_t tokens = 5, dim = 387;
  const auto x = random(tokens * dim, 3.0f), w = random(dim), b = random(dim);
  const Buffer xb = upload(x, "rows x"), wb = upload(w, "rows w"), bb = upload(b, "rows b");
  std::vector<float> want(x.size());

  const Buffer rms = zeros(x.size(), "rms_norm y");
  k_.rms_norm(all(xb), all(wb), all(rms), tokens, dim, 1e-5f);
  for (uint32_t t = 0; t < tokens; ++t) cpu::reference::rms_norm(&x[t * dim], w.data(), 1e-5f, &want[t * dim], dim);
  expect("rms_norm 5x387", rms, want);

  const Buffer ln = zeros(x.size(), "layer_norm y");
  k_.layer_norm(all(xb), all(wb), all(bb), all(ln), tokens, dim, 1e-12f);
  for (uint32_t t = 0; t < tokens; ++t) cpu::reference::layer_norm(&x[t * dim], w.data(), b.data(), 1e-12f, &want[t * dim], dim);
  expect("layer_norm 5x387", ln, want);

  const Buffer sm = upload(x, "softmax x");
  k_.softmax_rows(all(sm), tokens, dim);
  want = x;
  for (uint32_t t = 0; t < tokens; ++t) cpu::reference::softmax_inplace(&want[t * dim], dim);
  expect("softmax_rows 5x387", sm, want);

  const Buffer l2 = upload(std::vector<float>(x.begin(), x.begin() + dim), "l2 x");
  k_.l2_normalize(all(l2), dim);
  want.assign(x.begin(), x.begin() + dim);
  cpu::reference::l2_normalize_inplace(want.data(), dim);
  expect("l2_normalize 387", l2, want);

  const Buffer pooled = zeros(dim, "mean_pool out");
  k_.mean_pool(all(xb), all(pooled), tokens, dim);
  want.assign(dim, 0.0f);
  for (uint32_t c = 0; c < dim; ++c) {
    double s = 0;
    for (uint32_t t = 0; t < tokens; ++t) s += x[t * dim + c];
    want[c] = static_cast<float>(s / tokens);
  }
  expect("mean_pool 5x387", pooled, want);
}

void KernelSelftest::rope_cases() {
  // llama.cpp's "norm" rope: adjacent pairs (2i, 2i+1) over the first n_rot dims, angle pos * theta^(-2i/n_rot).
  const uint32_t tokens = 5, n_heads = 3, head_dim = 64, n_rot = 48, pos0 = 7;
  const float theta = 10000.0f;
  const auto x = random(tokens * n_heads * head_dim, 2.0f);
  const Buffer xb = upload(x, "rope x");
  k_.rope(all(xb), tokens, n_heads, head_dim, n_rot, pos0, theta);
  auto want = x;
  for (uint32_t t = 0; t < tokens; ++t) {
    for (uint32_t h = 0; h < n_heads; ++h) {
      float* v = &want[(t * n_heads + h) * head_dim];
      for (uint32_t i = 0; i < n_rot / 2; ++i) {
        const double angle = (pos0 + t) * std::pow(static_cast<double>(theta), -2.0 * i / n_rot);
        const double a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = static_cast<float>(a * std::cos(angle) - b * std::sin(angle));
        v[2 * i + 1] = static_cast<float>(a * std::sin(angle) + b * std::cos(angle));
      }
    }
  }
  expect("rope 5 tokens x 3 heads x 64, n_rot 48, pos0 7", xb, want);

  const uint32_t kv_dim = 3 * 64, n_ctx = 17;
  const auto k = random(tokens * kv_dim), v = random(tokens * kv_dim);
  const auto k0 = random(n_ctx * kv_dim), v0 = random(n_ctx * kv_dim);
  const Buffer kb = upload(k, "kv k"), vb = upload(v, "kv v"), kc = upload(k0, "k cache"), vc = upload(v0, "v cache");
  k_.kv_append(all(kb), all(vb), all(kc), all(vc), tokens, kv_dim, pos0);
  auto want_k = k0, want_v = v0;
  std::copy(k.begin(), k.end(), want_k.begin() + pos0 * kv_dim);
  std::copy(v.begin(), v.end(), want_v.begin() + pos0 * kv_dim);
  expect("kv_append k, 5 rows at 7 of 17", kc, want_k, 0);
  expect("kv_append v, 5 rows at 7 of 17", vc, want_v, 0);

  // rope_kv on fused QKV rows (6 query heads, 2 KV heads of 32, n_rot 24, 3 floats of padding):
  // q turned in place, k turned and v copied into cache rows 7.., the rest of each row unchanged.
  const uint32_t nh = 6, nkv = 2, hd = 32, nr = 24, q_dim = nh * hd, kvd = nkv * hd, stride = q_dim + 2 * kvd + 3;
  const auto qkv = random(tokens * stride, 2.0f);
  const auto kc0 = random(n_ctx * kvd), vc0 = random(n_ctx * kvd);
  const Buffer qkvb = upload(qkv, "rope_kv qkv"), kcb = upload(kc0, "rope_kv k cache"), vcb = upload(vc0, "rope_kv v cache");
  k_.rope_kv(all(qkvb), all(kcb), all(vcb), tokens, stride, nh, nkv, hd, nr, pos0, theta);
  auto want_qkv = qkv, want_kc = kc0, want_vc = vc0;
  for (uint32_t t = 0; t < tokens; ++t) {
    std::vector<float> turned(qkv.begin() + t * stride, qkv.begin() + t * stride + q_dim + kvd);
    for (uint32_t h = 0; h < nh + nkv; ++h) {
      for (uint32_t i = 0; i < nr / 2; ++i) {
        const double angle = (pos0 + t) * std::pow(static_cast<double>(theta), -2.0 * i / nr);
        float* v = &turned[h * hd + 2 * i];
        const double a = v[0], b = v[1];
        v[0] = static_cast<float>(a * std::cos(angle) - b * std::sin(angle));
        v[1] = static_cast<float>(a * std::sin(angle) + b * std::cos(angle));
      }
    }
    std::copy(turned.begin(), turned.begin() + q_dim, want_qkv.begin() + t * stride);
    std::copy(turned.begin() + q_dim, turned.end(), want_kc.begin() + (pos0 + t) * kvd);
    std::copy_n(qkv.begin() + t * stride + q_dim + kvd, kvd, want_vc.begin() + (pos0 + t) * kvd);
  }
  expect("rope_kv qkv rows (q turned), 5 tokens, heads 6/2 x 32, n_rot 24", qkvb, want_qkv);
  expect("rope_kv k cache, 5 rows at 7 of 17", kcb, want_kc);
  expect("rope_kv v cache, 5 rows at 7 of 17", vcb, want_vc, 0);
}

void KernelSelftest::attention_cases() {
  struct Shape {
    uint32_t tokens, n_head, n_head_kv, head_dim, pos0, n_ctx;
    bool causal;
  };
  // Causal with grouped-query heads and a cache longer than a key tile; bidirectional (BERT).
  // The second causal case reads q from wider rows (q_stride: the q part of fused QKV rows), one
  // token with its keys split 4 ways (attention_decode + attention_combine).
  for (const Shape s : {Shape{5, 6, 2, 64, 71, 96, true}, Shape{1, 3, 1, 32, 130, 131, true}, Shape{7, 4, 4, 32, 0, 7, false}}) {
    const uint32_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
    const bool strided = s.tokens == 1;
    const uint32_t q_stride = strided ? q_dim + 2 * kv_dim : q_dim;
    const uint32_t n_kv = s.causal ? s.pos0 + s.tokens : s.n_ctx;
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    const auto q = random(s.tokens * q_dim, 2.0f), kc = random(s.n_ctx * kv_dim, 2.0f), vc = random(s.n_ctx * kv_dim);
    std::vector<float> q_rows(s.tokens * q_stride, 0.5f);
    for (uint32_t t = 0; t < s.tokens; ++t) std::copy_n(q.begin() + t * q_dim, q_dim, q_rows.begin() + t * q_stride);
    const Buffer qb = upload(q_rows, "attention q"), kb = upload(kc, "attention k"), vb = upload(vc, "attention v");
    const Buffer out = zeros(s.tokens * q_dim, "attention out");
    const uint32_t splits = s.tokens == 1 ? 4 : 1;
    k_.set_attention_split(splits, 16);
    k_.attention(all(qb), all(kb), all(vb), all(out), s.tokens, s.n_head, s.n_head_kv, s.head_dim, s.pos0, n_kv, s.causal, scale,
                 q_stride);
    k_.set_attention_split(Kernels::kAttentionMaxSplits, Kernels::kAttentionMinSplitKeys);
    std::vector<float> want(s.tokens * q_dim);
    for (uint32_t t = 0; t < s.tokens; ++t) {
      const uint32_t last = s.causal ? s.pos0 + t + 1 : n_kv;
      for (uint32_t h = 0; h < s.n_head; ++h) {
        const uint32_t hk = h / (s.n_head / s.n_head_kv);
        std::vector<double> score(last);
        double top = -INFINITY;
        for (uint32_t j = 0; j < last; ++j) {
          double d = 0;
          for (uint32_t c = 0; c < s.head_dim; ++c) d += static_cast<double>(q[t * q_dim + h * s.head_dim + c]) * kc[j * kv_dim + hk * s.head_dim + c];
          top = std::max(top, score[j] = d * scale);
        }
        double sum = 0;
        for (auto& e : score) sum += (e = std::exp(e - top));
        for (uint32_t c = 0; c < s.head_dim; ++c) {
          double acc = 0;
          for (uint32_t j = 0; j < last; ++j) acc += score[j] * vc[j * kv_dim + hk * s.head_dim + c];
          want[t * q_dim + h * s.head_dim + c] = static_cast<float>(acc / sum);
        }
      }
    }
    expect("attention " + std::string(s.causal ? "causal" : "bidirectional") + ", " + std::to_string(s.tokens) +
               " token(s), heads " + std::to_string(s.n_head) + "/" + std::to_string(s.n_head_kv) + " x " +
               std::to_string(s.head_dim) + ", " + std::to_string(n_kv) + " keys" + (strided ? ", q rows strided" : "") +
               (splits > 1 ? ", " + std::to_string(splits) + " splits" : ""),
           out, want);
  }
}

void KernelSelftest::elementwise_cases() {
  const uint32_t n = 1001;
  const auto a = random(n, 4.0f), b = random(n, 4.0f);
  const Buffer ab = upload(a, "elementwise a"), bb = upload(b, "elementwise b"), out = zeros(n, "silu_mul out");
  k_.silu_mul(all(ab), all(bb), all(out), n);
  std::vector<float> want(n);
  cpu::reference::silu_mul(a.data(), b.data(), want.data(), n);
  expect("silu_mul 1001", out, want);

  // The halves of fused [gate | up] rows: 3 rows of 2 x 163 (the first 978 of a read as such rows).
  const uint32_t rows = 3, width = 163;
  const Buffer halves = zeros(rows * width, "silu_mul_halves out");
  k_.silu_mul_halves(all(ab), all(halves), rows, width);
  std::vector<float> want_halves(rows * width);
  for (uint32_t r = 0; r < rows; ++r) {
    cpu::reference::silu_mul(&a[r * 2 * width], &a[r * 2 * width + width], &want_halves[r * width], width);
  }
  expect("silu_mul_halves 3 rows of 2x163", halves, want_halves);

  const Buffer g = upload(a, "gelu x");
  k_.gelu(all(g), n);
  want = a;
  cpu::reference::gelu_erf_inplace(want.data(), n);
  expect("gelu (erf) 1001", g, want);

  const Buffer x = upload(a, "add x");
  k_.add(all(x), all(bb), n);
  for (uint32_t i = 0; i < n; ++i) want[i] = a[i] + b[i];
  expect("add 1001", x, want, 1e-6);
}

bool KernelSelftest::ok() const { return nlohmann::json::parse(report())["ok"].get<bool>(); }

std::string KernelSelftest::report() const {
  nlohmann::json cases = nlohmann::json::array();
  bool all_ok = !cases_.empty();
  for (const auto& c : cases_) {
    if (!c.error.empty()) {
      cases.push_back({{"name", c.name}, {"ok", false}, {"error", c.error}});
      all_ok = false;
      continue;
    }
    double worst = 0, peak = 1;
    for (size_t i = 0; i < c.expected.size(); ++i) {
      const double e = std::fabs(static_cast<double>(c.got[i]) - c.expected[i]);
      worst = std::isnan(e) ? INFINITY : std::max(worst, e);
      peak = std::max(peak, std::fabs(static_cast<double>(c.expected[i])));
    }
    const double rel = worst / peak;
    const bool ok = rel <= c.tolerance;
    all_ok = all_ok && ok;
    cases.push_back({{"name", c.name}, {"ok", ok}, {"max_error", std::isinf(rel) ? 1e30 : rel}, {"tolerance", c.tolerance}});
  }
  return nlohmann::json{{"ok", all_ok}, {"seed", seed_}, {"cases", cases}}.dump();
}

}  // namespace webaccel::gpu
