// The tensor element types of GGUF, with their block layouts exactly as GGUF defines them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace webaccel {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 20,
  kBF16 = 30,
  // webaccel's own group-wise formats (not GGUF ids): 1000 + 10 * bits + group index
  // (0: 32, 1: 64, 2: 128), laid out as described in src/quant/wq_format.h.
  kWQ2_G32 = 1020, kWQ2_G64 = 1021, kWQ2_G128 = 1022,
  kWQ3_G32 = 1030, kWQ3_G64 = 1031, kWQ3_G128 = 1032,
  kWQ4_G32 = 1040, kWQ4_G64 = 1041, kWQ4_G128 = 1042,
  kWQ8_G32 = 1080, kWQ8_G64 = 1081, kWQ8_G128 = 1082,
  // Super-block formats: 192 weights in 12 sub-blocks of 16, each with a 4-bit scale and a 4-bit
  // min under two fp16 super-scales (src/cpu/wk_reference.h).
  kWK2 = 1102, kWK3 = 1103, kWK4 = 1104,
};

// Bits and group size of a webaccel format; nullopt for every other type.
struct WqParams {
  int bits;
  int group;
};
std::optional<WqParams> wq_params(GgmlType type);
// 192 weights (3 x 64) per WK super-block: divides the widths of SmolLM2 (576, 1536) and
// MiniLM (384, 1536), which 256 does not.
constexpr size_t kWkSuperBlock = 192;
std::optional<GgmlType> wq_type(int bits, int group);  // group 192: the WK super-block formats
std::optional<int> wk_bits(GgmlType type);  // 2, 3 or 4 for the WK formats

struct GgmlTypeTraits {
  std::string_view name;
  size_t block_elems;  // elements per block (1 for plain floats)
  size_t block_bytes;  // bytes per block
};

// nullopt for a type id this build does not know.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id);
std::string_view ggml_type_name(GgmlType type);

constexpr size_t kQK = 32;  // elements per block of the 32-element formats

#pragma pack(push, 1)
struct BlockQ4_0 {  // value = (q - 8) * d; low nibbles are elements 0..15, high nibbles 16..31
  uint16_t d;
  uint8_t qs[kQK / 2];
};
struct BlockQ4_1 {  // value = q * d + m
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {  // value = q * d
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ8_1 {  // value = q * d; s = d * sum(q), saves work in Q4_1 dots
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};
#pragma pack(pop)
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);

constexpr size_t kQK_K = 256;  // elements per super-block of the K-quants

}  // namespace webaccel
