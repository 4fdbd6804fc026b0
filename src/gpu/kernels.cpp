// The non-matmul ops of the kernel library (matmul, upload and embed_rows: kernels_matmul.cpp):
// each fills its family's uniform params (structs below mirror the WGSL `Params`) and dispatches.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "gpu/attention_split.h"
#include "gpu/kernel_sources.h"
#include "gpu/kernels.h"

namespace webaccel::gpu {
namespace {

constexpr uint32_t kElementwiseWg = 256;   // threads per workgroup of the one-thread-per-element ops
constexpr uint32_t kRowWg = 256;           // threads per row of norm / softmax / l2 normalize
constexpr uint32_t kPromptAttentionWgs[] = {64, 128};        // attention.wgsl's tiles (keys per tile)
constexpr uint32_t kDecodeAttentionWg = 256;  // attention_decode.wgsl's threads: lanes x key groups
constexpr uint32_t kAttentionMaxHeadDim = 256;
constexpr uint32_t kMaxGroupsX = 65535;    // WebGPU's guaranteed maxComputeWorkgroupsPerDimension

struct Grid {
  uint32_t x, y;
};

// `groups` workgroups as rows of at most 65535 (shaders index (wid.y * groups.x + wid.x)).
Grid grid_for(uint64_t groups) {
  if (groups <= kMaxGroupsX) return {static_cast<uint32_t>(groups), 1};
  return {kMaxGroupsX, static_cast<uint32_t>((groups + kMaxGroupsX - 1) / kMaxGroupsX)};
}

uint64_t groups_for(uint64_t n, uint32_t wg) { return (n + wg - 1) / wg; }

std::string constant_text(double v) {
  // Integers (workgroup sizes, bits, flags) are nearly all constants; to_string is the fast path.
  if (v == static_cast<double>(static_cast<int64_t>(v))) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

struct ElementwiseParams {
  uint32_t n;
};
struct NormParams {
  uint32_t tokens, dim;
  float eps;
  uint32_t pad = 0;
};
struct RowsParams {
  uint32_t rows, cols;
};
struct SiluMulParams {
  uint32_t n, width, in_stride, up_offset;
};
struct RopeParams {
  uint32_t tokens, n_heads, head_dim, n_rot, pos0;
  float theta_scale;
  uint32_t row_stride, pad = 0;
};
struct RopeKvParams {
  uint32_t tokens, n_head, n_head_kv, head_dim, n_rot, pos0;
  float theta_scale;
  uint32_t row_stride;
};
struct AttentionParams {
  uint32_t tokens, n_head, n_head_kv, head_dim, pos0, n_kv, causal;
  float scale;
  uint32_t q_stride, pad[3] = {0, 0, 0};
};
struct AttentionDecodeParams {
  uint32_t n_head, n_head_kv, n_keys, split_keys, splits, n_rot;
  float theta_scale, scale;
};
struct AttentionCombineParams {
  uint32_t n_head, splits, head_dim, pad = 0;
};

// The same expression as the CPU path (llama.cpp's theta_scale), so angles agree bit for bit.
float rope_theta_scale(float theta, uint32_t n_rot) { return std::pow(theta, -2.0f / static_cast<float>(n_rot)); }

void check_rope(uint32_t n_rot, uint32_t head_dim) {
  if (n_rot == 0 || n_rot % 2 != 0 || n_rot > head_dim) {
    fail(ErrorKind::kInternal, "gpu rope: n_rot " + std::to_string(n_rot) + " is not even and <= head_dim");
  }
}
struct PoolParams {
  uint32_t tokens, dim;
};

void check_attention_heads(uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim) {
  if (head_dim > kAttentionMaxHeadDim || head_dim % 16 != 0 || n_head_kv == 0 || n_head % n_head_kv != 0) {
    fail(ErrorKind::kInternal, "gpu attention: head_dim " + std::to_string(head_dim) + " (a multiple of 16, max 256), n_head " +
                                   std::to_string(n_head) + " / n_head_kv " + std::to_string(n_head_kv) +
                                   " not supported");
  }
}

}  // namespace

Kernels::Kernels(Device& device) : device_(device) {
  // "max_splits[:min_keys]": bench/gpu compares split and unsplit decode (0 turns splitting off).
  if (const char* e = std::getenv("WEBACCEL_GPU_ATTN_SPLIT"); e && *e) {
    char* rest = nullptr;
    const unsigned long max_splits = std::strtoul(e, &rest, 10);
    unsigned long min_keys = attention_min_split_keys_;
    if (*rest == ':') min_keys = std::strtoul(rest + 1, &rest, 10);
    if (rest == e || *rest != '\0' || max_splits > 65535 || min_keys == 0 || min_keys > (1ul << 30)) {
      fail(ErrorKind::kUsage, std::string("WEBACCEL_GPU_ATTN_SPLIT='") + e +
                                  "': expected max_splits[:min_keys_per_split], e.g. 0 (off) or 16:128");
    }
    set_attention_split(static_cast<uint32_t>(max_splits), static_cast<uint32_t>(min_keys));
  }
}

Kernels::~Kernels() {
  try {
    if (attention_partials_) device_.release(attention_partials_);
  } catch (...) {
    // A lost device has nothing left to release.
  }
}

void Kernels::set_attention_split(uint32_t max_splits, uint32_t min_keys) {
  attention_max_splits_ = max_splits;
  attention_min_split_keys_ = std::max(min_keys, 1u);
}

BufferView Kernels::attention_partials(uint64_t bytes, uint64_t reserve) {
  if (collecting_) return {};
  if (attention_partials_.bytes < bytes) {
    // Released buffers stay alive for work already recorded (both devices), so growing is safe;
    // it is rare, since the first allocation reserves room for the splits the limits allow.
    if (attention_partials_) device_.release(attention_partials_);
    attention_partials_ = device_.create_buffer(std::max(bytes, reserve), "split attention partials");
  }
  return {attention_partials_, 0, 0};
}

Pipeline Kernels::get(const std::string& family, std::vector<std::pair<std::string, double>> constants,
                      std::initializer_list<std::string_view> libs) {
  std::string key = family;
  for (const auto& [name, value] : constants) key += ":" + name + "=" + constant_text(value);
  // A cached key needs no source: the device looks pipelines up by key first.
  if (!collecting_ && device_.has_pipeline(key)) return device_.pipeline(PipelineDesc{key, {}, "main", {}});
  std::string source;
  for (std::string_view file : libs) {
    const std::string_view text = kernel_source(file);
    if (text.empty()) fail(ErrorKind::kInternal, "gpu: no WGSL file '" + std::string(file) + "' (src/gpu/wgsl/)");
    source += text;
  }
  const std::string_view text = kernel_source(family);
  if (text.empty()) fail(ErrorKind::kInternal, "gpu: no WGSL kernel family '" + family + "' (src/gpu/wgsl/)");
  source += text;
  PipelineDesc desc{key, std::move(source), "main", std::move(constants)};
  if (collecting_) {
    for (const auto& d : collected_) {
      if (d.key == desc.key) return {};
    }
    collected_.push_back(std::move(desc));
    return {};
  }
  return device_.pipeline(desc);
}

void Kernels::run(Pipeline p, std::span<const uint8_t> params, std::span<const BufferView> buffers, uint32_t gx,
                  uint32_t gy, uint32_t gz) {
  if (collecting_) return;
  device_.dispatch(p, params, buffers, gx, gy, gz);
}

void Kernels::rms_norm(BufferView x, BufferView weight, BufferView y, uint32_t tokens, uint32_t dim, float eps) {
  const Pipeline p = get("norm", {{"wg", kRowWg}, {"layer_norm", 0}});
  const NormParams params{tokens, dim, eps};
  const BufferView bind[] = {x, weight, weight, y};  // weight stands in for the unused beta
  run(p, as_params(params), bind, tokens);
}

void Kernels::layer_norm(BufferView x, BufferView gamma, BufferView beta, BufferView y, uint32_t tokens, uint32_t dim,
                         float eps) {
  const Pipeline p = get("norm", {{"wg", kRowWg}, {"layer_norm", 1}});
  const NormParams params{tokens, dim, eps};
  const BufferView bind[] = {x, gamma, beta, y};
  run(p, as_params(params), bind, tokens);
}

void Kernels::rope(BufferView x, uint32_t tokens, uint32_t n_heads, uint32_t head_dim, uint32_t n_rot, uint32_t pos0,
                   float theta, uint32_t row_stride) {
  check_rope(n_rot, head_dim);
  const Pipeline p = get("rope", {{"wg", kElementwiseWg}}, {"lib_rope"});
  const RopeParams params{tokens, n_heads, head_dim, n_rot, pos0, rope_theta_scale(theta, n_rot),
                          row_stride ? row_stride : n_heads * head_dim};
  const BufferView bind[] = {x};
  const Grid g = grid_for(groups_for(uint64_t{tokens} * n_heads * (n_rot / 2), kElementwiseWg));
  run(p, as_params(params), bind, g.x, g.y);
}

void Kernels::rope_kv(BufferView qkv, BufferView k_cache, BufferView v_cache, uint32_t tokens, uint32_t row_stride,
                      uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim, uint32_t n_rot, uint32_t pos0,
                      float theta) {
  check_rope(n_rot, head_dim);
  const uint64_t row = uint64_t{n_head + 2 * n_head_kv} * head_dim;
  if (row_stride < row) {
    fail(ErrorKind::kInternal, "gpu rope_kv: row stride " + std::to_string(row_stride) + " < the row's " + std::to_string(row));
  }
  const Pipeline p = get("rope_kv", {{"wg", kElementwiseWg}}, {"lib_rope"});
  const RopeKvParams params{tokens, n_head, n_head_kv, head_dim, n_rot, pos0, rope_theta_scale(theta, n_rot), row_stride};
  const BufferView bind[] = {qkv, k_cache, v_cache};
  const Grid g = grid_for(groups_for(uint64_t{tokens} * (row / 2), kElementwiseWg));
  run(p, as_params(params), bind, g.x, g.y);
}

void Kernels::kv_append(BufferView k, BufferView v, BufferView k_cache, BufferView v_cache, uint32_t tokens,
                        uint32_t kv_dim, uint32_t pos0) {
  if (collecting_) return;
  // Rows are contiguous on both sides: a buffer copy, no kernel.
  const uint64_t bytes = uint64_t{tokens} * kv_dim * sizeof(float);
  const uint64_t at = uint64_t{pos0} * kv_dim * sizeof(float);
  device_.copy(k.buffer, k.offset, k_cache.buffer, k_cache.offset + at, bytes);
  device_.copy(v.buffer, v.offset, v_cache.buffer, v_cache.offset + at, bytes);
}

void Kernels::attention(BufferView q, BufferView k_cache, BufferView v_cache, BufferView out, uint32_t tokens,
                        uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim, uint32_t pos0, uint32_t n_kv,
                        bool causal, float scale, uint32_t q_stride) {
  check_attention_heads(n_head, n_head_kv, head_dim);
  const uint32_t max_keys = causal ? pos0 + tokens : n_kv;
  if (tokens == 1) {  // one row: q_stride does not matter
    attention_one_token(q, k_cache, v_cache, out, n_head, n_head_kv, head_dim, max_keys, scale, nullptr);
    return;
  }
  // Keys per tile: prefill has workgroups enough and prefers smaller tiles. On an H100, 128-token
  // prefill over 512 keys: 520 / 495 / 738 us in 64 / 128 / 256-key tiles.
  const uint32_t wg = max_keys <= 64 ? 64 : 128;
  if (collecting_) {  // the context grows during generation: every tile size a run may need
    for (uint32_t size : kPromptAttentionWgs) get("attention", {{"head_dim", head_dim}, {"wg", size}}, {"lib_attention"});
  }
  const Pipeline p = get("attention", {{"head_dim", head_dim}, {"wg", wg}}, {"lib_attention"});
  const AttentionParams params{tokens, n_head,         n_head_kv, head_dim,
                               pos0,   n_kv,           causal ? 1u : 0u, scale,
                               q_stride ? q_stride : n_head * head_dim};
  const BufferView bind[] = {q, k_cache, v_cache, out};
  run(p, as_params(params), bind, n_head, tokens);
}

void Kernels::rope_kv_attention(BufferView qkv, BufferView k_cache, BufferView v_cache, BufferView out,
                                uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim, uint32_t n_rot, uint32_t pos,
                                float theta, float scale) {
  check_rope(n_rot, head_dim);
  check_attention_heads(n_head, n_head_kv, head_dim);
  const OwnKeyRope rope{n_rot, theta};
  attention_one_token(qkv, k_cache, v_cache, out, n_head, n_head_kv, head_dim, pos + 1, scale, &rope);
}

void Kernels::attention_one_token(BufferView row, BufferView k_cache, BufferView v_cache, BufferView out,
                                  uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim, uint32_t n_keys, float scale,
                                  const OwnKeyRope* rope) {
  if (n_keys == 0) fail(ErrorKind::kInternal, "gpu attention: no keys to attend to");
  const Pipeline decode = get("attention_decode", {{"head_dim", head_dim}, {"wg", kDecodeAttentionWg}, {"new_kv", rope ? 1 : 0}},
                              {"lib_rope", "lib_attention"});
  if (collecting_) {  // the context grows during generation: its split may come
    get("attention_combine", {});
    return;
  }
  const AttentionSplit split =
      plan_attention_split(rope ? n_keys - 1 : n_keys, attention_max_splits_, attention_min_split_keys_);
  // One split of every head: its p v lanes, then (max, sum), in vec4.
  const uint64_t split_bytes = uint64_t{n_head} * (head_dim / 4 + 1) * 16;
  const BufferView partials = attention_partials(
      split_bytes * split.splits, split_bytes * std::clamp(attention_max_splits_, 1u, kAttentionMaxSplits));
  const AttentionDecodeParams params{n_head,       n_head_kv,
                                     n_keys,       split.split_keys,
                                     split.splits, rope ? rope->n_rot : 0,
                                     rope ? rope_theta_scale(rope->theta, rope->n_rot) : 0.0f, scale};
  const BufferView bind[] = {row, k_cache, v_cache, out, partials};
  run(decode, as_params(params), bind, n_head, split.splits);
  if (split.splits == 1) return;
  const AttentionCombineParams combine{n_head, split.splits, head_dim};
  const BufferView combine_bind[] = {partials, out};
  run(get("attention_combine", {}), as_params(combine), combine_bind, n_head);
}

void Kernels::silu_mul(BufferView gate, BufferView up, BufferView out, uint32_t n) {
  const Pipeline p = get("silu_mul", {{"wg", kElementwiseWg}});
  const SiluMulParams params{n, std::max<uint32_t>(n, 1), 0, 0};  // one row
  const BufferView bind[] = {gate, up, out};
  const Grid g = grid_for(groups_for(n, kElementwiseWg));
  run(p, as_params(params), bind, g.x, g.y);
}

void Kernels::silu_mul_halves(BufferView gate_up, BufferView out, uint32_t tokens, uint32_t width) {
  const Pipeline p = get("silu_mul", {{"wg", kElementwiseWg}});
  const uint64_t n = uint64_t{tokens} * width;
  const SiluMulParams params{static_cast<uint32_t>(n), std::max<uint32_t>(width, 1), 2 * width, width};
  const BufferView bind[] = {gate_up, gate_up, out};  // read-only bindings may alias
  const Grid g = grid_for(groups_for(n, kElementwiseWg));
  run(p, as_params(params), bind, g.x, g.y);
}

void Kernels::gelu(BufferView x, uint32_t n) {
  const Pipeline p = get("gelu", {{"wg", kElementwiseWg}});
  const ElementwiseParams params{n};
  const BufferView bind[] = {x};
  const Grid g = grid_for(groups_for(n, kElementwiseWg));
  run(p, as_params(params), bind, g.x, g.y);
}

void Kernels::add(BufferView x, BufferView y, uint32_t n) {
  const Pipeline p = get("add", {{"wg", kElementwiseWg}});
  const ElementwiseParams params{n};
  const BufferView bind[] = {x, y};
  const Grid g = grid_for(groups_for(n, kElementwiseWg));
  run(p, as_params(params), bind, g.x, g.y);
}

void Kernels::softmax_rows(BufferView x, uint32_t rows, uint32_t cols) {
  const Pipeline p = get("rows", {{"wg", kRowWg}, {"op", 0}});
  const RowsParams params{rows, cols};
  const BufferView bind[] = {x};
  run(p, as_params(params), bind, rows);
}

void Kernels::mean_pool(BufferView x, BufferView out, uint32_t tokens, uint32_t dim) {
  const Pipeline p = get("mean_pool", {{"wg", 64}});
  const PoolParams params{tokens, dim};
  const BufferView bind[] = {x, out};
  run(p, as_params(params), bind, static_cast<uint32_t>(groups_for(dim, 64)));
}

void Kernels::l2_normalize(BufferView x, uint32_t dim) {
  const Pipeline p = get("rows", {{"wg", kRowWg}, {"op", 1}});
  const RowsParams params{1, dim};
  const BufferView bind[] = {x};
  run(p, as_params(params), bind, 1);
}

}  // namespace webaccel::gpu
