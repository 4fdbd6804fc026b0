#include "format/ggml_types.h"

namespace webaccel {

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id) {
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::kF32: return GgmlTypeTraits{"F32", 1, 4};
    case GgmlType::kF16: return GgmlTypeTraits{"F16", 1, 2};
    case GgmlType::kBF16: return GgmlTypeTraits{"BF16", 1, 2};
    case GgmlType::kQ4_0: return GgmlTypeTraits{"Q4_0", kQK, sizeof(BlockQ4_0)};
    case GgmlType::kQ4_1: return GgmlTypeTraits{"Q4_1", kQK, sizeof(BlockQ4_1)};
    case GgmlType::kQ8_0: return GgmlTypeTraits{"Q8_0", kQK, sizeof(BlockQ8_0)};
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
