#include "gpu/synthetic_llama.h"

#include <cstring>

#include "core/error.h"
#include "core/fp16.h"

namespace webaccel::gpu {
namespace {

uint64_t next(uint64_t& s) {  // xorshift64*: fast, and good enough for weights nobody reads
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1DULL;
}

// Random codes with every per-group scale pair set to (d, m) so values are q*d + m, small.
std::vector<uint8_t> random_matrix(GgmlType type, size_t rows, size_t cols, uint64_t& seed) {
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  const size_t row_bytes = cols / traits.block_elems * traits.block_bytes;
  std::vector<uint8_t> bytes(rows * row_bytes);
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    const uint64_t r = next(seed);
    std::memcpy(bytes.data() + i, &r, 8);
  }
  const auto wq = wq_params(type);
  if (type == GgmlType::kF32 || type == GgmlType::kF16 || !wq) {
    fail(ErrorKind::kUsage, "synthetic models are made in the WQ formats (--bits 2/3/4/8)");
  }
  const float d = 0.02f / static_cast<float>((1 << wq->bits) - 1), m = -0.01f;
  const uint16_t dm[2] = {float_to_half(d), float_to_half(m)};
  for (size_t off = 0; off < bytes.size(); off += traits.block_bytes) std::memcpy(bytes.data() + off, dm, 4);
  return bytes;
}

}  // namespace

SyntheticLlama make_synthetic_llama(const std::string& shape, GgmlType type, uint64_t seed) {
  LlamaHparams hp;
  if (shape == "7b") {
    hp.n_vocab = 32000; hp.n_embd = 4096; hp.n_layer = 32; hp.n_head = 32; hp.n_head_kv = 32; hp.n_ff = 11008;
  } else if (shape == "smollm2") {
    hp.n_vocab = 49152; hp.n_embd = 576; hp.n_layer = 30; hp.n_head = 9; hp.n_head_kv = 3; hp.n_ff = 1536;
  } else if (shape == "tiny") {
    hp.n_vocab = 2048; hp.n_embd = 576; hp.n_layer = 2; hp.n_head = 9; hp.n_head_kv = 3; hp.n_ff = 1536;
  } else {
    fail(ErrorKind::kUsage, "shape '" + shape + "' is not one of " + std::string(kSyntheticShapes));
  }
  hp.n_ctx_train = 4096;
  hp.head_dim = hp.n_embd / hp.n_head;
  hp.n_rot = hp.head_dim;
  hp.rope_base = 10000.0f;
  hp.rms_eps = 1e-5f;

  SyntheticLlama s;
  auto& w = s.weights;
  w.hp = hp;
  uint64_t state = seed | 1;
  auto matrix = [&](size_t rows, size_t cols) {
    s.storage.push_back(random_matrix(type, rows, cols, state));
    const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
    return cpu::WeightMatrix{type, rows, cols, s.storage.back().data(), cols / traits.block_elems * traits.block_bytes};
  };
  auto ones = [&](size_t n) {
    s.storage.emplace_back(n * sizeof(float));
    auto* f = reinterpret_cast<float*>(s.storage.back().data());
    for (size_t i = 0; i < n; ++i) f[i] = 1.0f;
    return std::span<const float>(f, n);
  };
  s.storage.reserve(4 + hp.n_layer * 9);  // pointers into storage must stay valid
  const size_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
  w.tok_embd = matrix(hp.n_vocab, hp.n_embd);
  w.output = shape != "7b" ? w.tok_embd : matrix(hp.n_vocab, hp.n_embd);  // SmolLM2 ties them
  w.output_norm = ones(hp.n_embd);
  for (size_t il = 0; il < hp.n_layer; ++il) {
    LlamaLayer L;
    L.prefix = "blk." + std::to_string(il) + ".";
    L.attn_norm = ones(hp.n_embd);
    L.wq = matrix(q_dim, hp.n_embd);
    L.wk = matrix(kv_dim, hp.n_embd);
    L.wv = matrix(kv_dim, hp.n_embd);
    L.wo = matrix(hp.n_embd, q_dim);
    L.ffn_norm = ones(hp.n_embd);
    L.w_gate = matrix(hp.n_ff, hp.n_embd);
    L.w_up = matrix(hp.n_ff, hp.n_embd);
    L.w_down = matrix(hp.n_embd, hp.n_ff);
    w.layers.push_back(std::move(L));
  }
  return s;
}

}  // namespace webaccel::gpu
