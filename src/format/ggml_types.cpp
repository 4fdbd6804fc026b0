#include "format/ggml_types.h"

namespace webaccel {

std::optional<WqParams> wq_params(GgmlType type) {
  const auto id = static_cast<uint32_t>(type);
  if (id < 1000 || id >= 1100) return std::nullopt;
  const int bits = static_cast<int>((id - 1000) / 10), gi = static_cast<int>((id - 1000) % 10);
  if ((bits != 2 && bits != 3 && bits != 4 && bits != 8) || gi > 2) return std::nullopt;
  return WqParams{bits, 32 << gi};
}

std::optional<GgmlType> wq_type(int bits, int group) {
  if (group == static_cast<int>(kWkSuperBlock)) return bits >= 2 && bits <= 4 ? std::optional<GgmlType>(static_cast<GgmlType>(1100 + bits)) : std::nullopt;
  const int gi = group == 32 ? 0 : group == 64 ? 1 : group == 128 ? 2 : -1;
  if (gi < 0 || (bits != 2 && bits != 3 && bits != 4 && bits != 8)) return std::nullopt;
  return static_cast<GgmlType>(1000 + 10 * bits + gi);
}

std::optional<int> wk_bits(GgmlType type) {
  const auto id = static_cast<uint32_t>(type);
  if (id >= 1102 && id <= 1104) return static_cast<int>(id - 1100);
  return std::nullopt;
}

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id) {
  if (auto wk = wk_bits(static_cast<GgmlType>(type_id))) {
    static const char* kNames[] = {"WK2", "WK3", "WK4"};
    // fp16 d + fp16 dmin, 12 bytes of 4-bit scale/min pairs, then 192 packed codes
    return GgmlTypeTraits{kNames[*wk - 2], kWkSuperBlock, 4 + 12 + static_cast<size_t>(24 * *wk)};
  }
  if (auto wq = wq_params(static_cast<GgmlType>(type_id))) {
    static const char* kNames[4][3] = {{"WQ2_G32", "WQ2_G64", "WQ2_G128"}, {"WQ3_G32", "WQ3_G64", "WQ3_G128"},
                                       {"WQ4_G32", "WQ4_G64", "WQ4_G128"}, {"WQ8_G32", "WQ8_G64", "WQ8_G128"}};
    const int bi = wq->bits == 8 ? 3 : wq->bits - 2;
    const int gi = wq->group == 32 ? 0 : wq->group == 64 ? 1 : 2;
    // fp16 scale + fp16 min, then the packed codes
    return GgmlTypeTraits{kNames[bi][gi], static_cast<size_t>(wq->group), 4 + static_cast<size_t>(wq->group * wq->bits / 8)};
  }
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::kF32: return GgmlTypeTraits{"F32", 1, 4};
    case GgmlType::kF16: return GgmlTypeTraits{"F16", 1, 2};
    case GgmlType::kBF16: return GgmlTypeTraits{"BF16", 1, 2};
    case GgmlType::kQ4_0: return GgmlTypeTraits{"Q4_0", kQK, sizeof(BlockQ4_0)};
    case GgmlType::kQ4_1: return GgmlTypeTraits{"Q4_1", kQK, sizeof(BlockQ4_1)};
    case GgmlType::kQ8_0: return GgmlTypeTraits{"Q8_0", kQK, sizeof(BlockQ8_0)};
    case GgmlType::kQ5_0: return GgmlTypeTraits{"Q5_0", kQK, 22};   // fp16 d, 32 high bits, 16 nibble bytes
    case GgmlType::kQ5_1: return GgmlTypeTraits{"Q5_1", kQK, 24};   // fp16 d, fp16 m, 32 high bits, 16 bytes
    case GgmlType::kIQ4_NL: return GgmlTypeTraits{"IQ4_NL", kQK, 18};  // fp16 d, 16 bytes of table indices
    case GgmlType::kQ8_1: return GgmlTypeTraits{"Q8_1", kQK, sizeof(BlockQ8_1)};
    case GgmlType::kQ2_K: return GgmlTypeTraits{"Q2_K", kQK_K, 84};
    case GgmlType::kQ3_K: return GgmlTypeTraits{"Q3_K", kQK_K, 110};
    case GgmlType::kQ4_K: return GgmlTypeTraits{"Q4_K", kQK_K, 144};
    case GgmlType::kQ5_K: return GgmlTypeTraits{"Q5_K", kQK_K, 176};
    case GgmlType::kQ6_K: return GgmlTypeTraits{"Q6_K", kQK_K, 210};
  }
  return std::nullopt;
}

std::string_view ggml_type_name(GgmlType type) {
  auto t = ggml_type_traits(static_cast<uint32_t>(type));
  return t ? t->name : std::string_view("unknown");
}

}  // namespace webaccel
