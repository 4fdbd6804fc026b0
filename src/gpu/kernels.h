// The WGSL kernel library behind one C++ API: each op picks its pipeline (family file + override
// constants), fills its uniform params and records a dispatch on a gpu::Device. Shapes are
// row-major f32 unless stated; "tokens" is the number of rows being processed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/matmul.h"
#include "gpu/device.h"

namespace webaccel::gpu {

// A weight matrix resident on the GPU in the layout its matmul family reads (gpu/weight_layout.h).
// Byte counts equal the CPU format's (codes + scales), so effective bits per weight are unchanged.
struct GpuMatrix {
  GgmlType type = GgmlType::kF32;  // the format as loaded (Q4_1 and Q8_0 are read as WQ4/WQ8 groups)
  uint32_t rows = 0;               // output features
  uint32_t cols = 0;               // input features
  Buffer codes;                    // packed codes, or the f32/f16 values
  Buffer scales;                   // per-group (d, m) or super-block scales; empty for f32/f16
  uint64_t weight_bytes = 0;       // codes + scales bytes read by one full product
};

class Kernels {
 public:
  // Reads $WEBACCEL_GPU_ATTN_SPLIT (set_attention_split's limits as "max_splits[:min_keys]").
  explicit Kernels(Device& device);
  ~Kernels();
  Kernels(const Kernels&) = delete;
  Kernels& operator=(const Kernels&) = delete;
  Device& device() { return device_; }

  // Uploads a CPU matrix (any format the engine reads); formats without a GPU kernel are
  // converted to f16 on upload. A matrix whose codes exceed max_storage_buffer_binding_size is
  // split into row ranges at dispatch time; one that cannot be split fails naming `name`.
  GpuMatrix upload(const cpu::WeightMatrix& m, const std::string& name);
  Buffer upload_f32(const float* data, size_t n, const std::string& name);

  // y(tokens, w.rows) = x(tokens, w.cols) · wᵀ (+ bias(w.rows)) ; accumulate: y += instead of y =.
  void matmul(const GpuMatrix& w, BufferView x, BufferView y, uint32_t tokens, const BufferView* bias = nullptr,
              bool accumulate = false);
  // out(tokens, table.cols) = rows ids[t] of the table, dequantized; ids are u32.
  // One-token products whose input is computed as it is read (gemv.wgsl's x_mode), a dispatch
  // and a round trip through memory fewer than the op then the product: y (+)= (RMSNorm(x) *
  // norm) · Wᵀ, and y (+)= (SiLU(gate) * up) · Wᵀ with gate_up = [gate | up] (2 cols). Only where
  // gemv_fusable(w); the caller runs the two steps otherwise.
  bool gemv_fusable(const GpuMatrix& w) const;
  void gemv_rms_normed(const GpuMatrix& w, BufferView x, BufferView norm, float eps, BufferView y,
                       bool accumulate = false);
  void gemv_gated(const GpuMatrix& w, BufferView gate_up, BufferView y, bool accumulate = false);
  void embed_rows(const GpuMatrix& table, BufferView ids, BufferView out, uint32_t tokens);
  void rms_norm(BufferView x, BufferView weight, BufferView y, uint32_t tokens, uint32_t dim, float eps);
  void layer_norm(BufferView x, BufferView gamma, BufferView beta, BufferView y, uint32_t tokens, uint32_t dim,
                  float eps);
  // In place on x(tokens, n_heads, head_dim): llama.cpp's "norm" rotation of adjacent pairs over
  // the first n_rot dims, positions pos0 + t. Rows are row_stride floats apart (0: n_heads * head_dim).
  void rope(BufferView x, uint32_t tokens, uint32_t n_heads, uint32_t head_dim, uint32_t n_rot, uint32_t pos0,
            float theta, uint32_t row_stride = 0);
  // RoPE and the cache store of a fused QKV product in one dispatch: rows of qkv (row_stride floats
  // apart) hold [q (n_head heads) | k (n_head_kv heads) | v (n_head_kv heads)]; q is rotated in
  // place, k rotated and v copied into rows pos0 .. of the caches (n_ctx, n_head_kv * head_dim).
  void rope_kv(BufferView qkv, BufferView k_cache, BufferView v_cache, uint32_t tokens, uint32_t row_stride,
               uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim, uint32_t n_rot, uint32_t pos0, float theta);
  // k, v (tokens, kv_dim) into the caches (n_ctx, kv_dim) at rows pos0 ..
  void kv_append(BufferView k, BufferView v, BufferView k_cache, BufferView v_cache, uint32_t tokens, uint32_t kv_dim,
                 uint32_t pos0);
  // out(tokens, n_head * head_dim) = softmax(q kᵀ * scale) v over cache rows [0, pos0 + t] (causal)
  // or [0, n_kv) (not causal); flash-style: no score matrix, online softmax over key tiles. Rows of
  // q are q_stride floats apart (0: n_head * head_dim), e.g. the q part of fused QKV rows. One
  // token splits its keys over several workgroups per head where the context is long enough
  // (set_attention_split), then merges them in a second dispatch.
  void attention(BufferView q, BufferView k_cache, BufferView v_cache, BufferView out, uint32_t tokens,
                 uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim, uint32_t pos0, uint32_t n_kv, bool causal,
                 float scale, uint32_t q_stride = 0);
  // rope_kv then causal attention of one token at position pos, in one dispatch (a decode step's):
  // qkv (1, (n_head + 2 n_head_kv) head_dim) = [q | k | v]; k turned and v copied into cache row
  // pos (the caches (n_ctx, n_head_kv * head_dim)); out (1, n_head * head_dim) = attention of the
  // turned q over rows [0, pos]. q in qkv is left unturned. Keys split as attention's.
  void rope_kv_attention(BufferView qkv, BufferView k_cache, BufferView v_cache, BufferView out, uint32_t n_head,
                         uint32_t n_head_kv, uint32_t head_dim, uint32_t n_rot, uint32_t pos, float theta, float scale);
  // Single-token attention splits its cached keys over at most max_splits workgroups per head
  // (0 or 1: never), each given at least min_keys keys.
  void set_attention_split(uint32_t max_splits, uint32_t min_keys);
  static constexpr uint32_t kAttentionMaxSplits = 16;
  static constexpr uint32_t kAttentionMinSplitKeys = 128;  // two 64-key tiles, one of 128
  void silu_mul(BufferView gate, BufferView up, BufferView out, uint32_t n);  // out = silu(gate) * up
  // out(tokens, width) = silu(gate) * up from fused rows gate_up(tokens, 2 * width) = [gate | up].
  void silu_mul_halves(BufferView gate_up, BufferView out, uint32_t tokens, uint32_t width);
  void gelu(BufferView x, uint32_t n);                                          // in place, erf form
  void add(BufferView x, BufferView y, uint32_t n);                             // x += y
  void softmax_rows(BufferView x, uint32_t rows, uint32_t cols);                // in place
  void mean_pool(BufferView x, BufferView out, uint32_t tokens, uint32_t dim);  // out(dim) = mean over tokens
  void l2_normalize(BufferView x, uint32_t dim);                                // in place

  // Precompilation: while collecting, ops record the pipelines they would use and dispatch nothing.
  void begin_collect() { collecting_ = true; collected_.clear(); }
  std::vector<PipelineDesc> end_collect() { collecting_ = false; return std::move(collected_); }
  bool collecting() const { return collecting_; }

 private:
  // The pipeline for a family and constants: compiled on first use (lazy) unless precompiled.
  // `libs`: WGSL files composed in front of the family's (shared functions); the key is the family's.
  Pipeline get(const std::string& family, std::vector<std::pair<std::string, double>> constants,
               std::initializer_list<std::string_view> libs = {});
  enum class GemvInput : uint32_t { kX = 0, kRmsNormed = 1, kGated = 2 };
  void gemv(const GpuMatrix& w, GemvInput input, BufferView x, BufferView aux, float eps, BufferView y,
            const BufferView* bias, bool accumulate);
  void run(Pipeline p, std::span<const uint8_t> params, std::span<const BufferView> buffers, uint32_t gx,
           uint32_t gy = 1, uint32_t gz = 1);
  // One token's attention over cache rows [0, n_keys) (attention_decode.wgsl); rope: the last row
  // is the token's own, turned and stored from [q | k | v] in `row` (rope_kv_attention).
  struct OwnKeyRope {
    uint32_t n_rot;
    float theta;
  };
  void attention_one_token(BufferView row, BufferView k_cache, BufferView v_cache, BufferView out, uint32_t n_head,
                           uint32_t n_head_kv, uint32_t head_dim, uint32_t n_keys, float scale, const OwnKeyRope* rope);
  // The scratch of split attention, at least `bytes` (grown to `reserve` when it grows).
  BufferView attention_partials(uint64_t bytes, uint64_t reserve);

  Device& device_;
  uint32_t attention_max_splits_ = kAttentionMaxSplits;
  uint32_t attention_min_split_keys_ = kAttentionMinSplitKeys;
  Buffer attention_partials_;  // (n_head, splits, head_dim / 4 + 1) vec4 of the last split attention
  bool collecting_ = false;
  std::vector<PipelineDesc> collected_;
};

}  // namespace webaccel::gpu
