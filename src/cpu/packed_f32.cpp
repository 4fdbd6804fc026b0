#include "cpu/packed_f32.h"

#include <algorithm>
#include <chrono>

namespace webaccel::cpu {

PackedF32Matrix pack_f32_rows(std::span<const WeightMatrix* const> parts, std::span<const std::vector<float>* const> biases) {
  PackedF32Matrix m;
  if (parts.empty()) return m;
  for (const auto* p : parts) {
    if (p->type != GgmlType::kF32 || p->cols != parts[0]->cols) return m;
  }
  m.cols = parts[0]->cols;
  m.padded_cols = (m.cols + kPackedKBlock - 1) / kPackedKBlock * kPackedKBlock;
  for (const auto* p : parts) m.rows += p->rows;
  m.panel_rows = packed_f32_panel_rows();
  const size_t padded = m.n_panels() * m.panel_rows;
  m.panels.assign(padded * m.padded_cols, 0.0f);
  m.bias.assign(padded, 0.0f);
  size_t r = 0;  // row of the stacked matrix
  for (size_t i = 0; i < parts.size(); ++i) {
    for (size_t pr = 0; pr < parts[i]->rows; ++pr, ++r) {
      const float* src = reinterpret_cast<const float*>(parts[i]->row(pr));
      float* dst = m.panels.data() + (r / m.panel_rows) * m.padded_cols * m.panel_rows + r % m.panel_rows;
      for (size_t k = 0; k < m.cols; ++k) dst[k * m.panel_rows] = src[k];
      m.bias[r] = (*biases[i])[pr];
    }
  }
  return m;
}

namespace {

// Which broadcast this wasm engine runs faster, learned on the first real products: after a warm-up
// (the JIT's tiers settle) runs of 4 products alternate the two (a BERT layer's 4 shapes each), and
// the lower best time per multiply-add wins.
class BroadcastChooser {
 public:
  int next() const { return decided_ >= 0 ? decided_ : calls_ < kWarmup ? 0 : static_cast<int>((calls_ / 4) & 1); }
  bool deciding() const { return decided_ < 0; }
  void record(int kind, double seconds_per_madd) {
    if (calls_ >= kWarmup) best_[kind] = std::min(best_[kind], seconds_per_madd);
    if (++calls_ == kWarmup + kTrials) decided_ = best_[1] < best_[0] ? 1 : 0;
  }

 private:
  static constexpr size_t kWarmup = 48, kTrials = 96;  // MiniLM: 24 products a sentence
  size_t calls_ = 0;
  int decided_ = -1;
  double best_[2] = {1e30, 1e30};
};

}  // namespace

void matmul_packed_f32(const PackedF32Matrix& w, const float* x, size_t n_tokens, float* out, ThreadPool& pool) {
  auto product = [&] {
    pool.parallel_for(w.n_panels(), 1, [&](size_t p0, size_t p1) { packed_f32_panels(w, p0, p1, x, w.cols, n_tokens, out, w.rows); });
  };
  thread_local BroadcastChooser chooser;
  if (!packed_f32_has_shuffle_broadcast() || !chooser.deciding()) return product();
  const int kind = chooser.next();
  packed_f32_use_broadcast(kind);
  const auto t0 = std::chrono::steady_clock::now();
  product();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  chooser.record(kind, seconds / static_cast<double>(w.rows * w.cols * std::max<size_t>(n_tokens, 1)));
  if (!chooser.deciding()) packed_f32_use_broadcast(chooser.next());
}

}  // namespace webaccel::cpu
