#include "tokenizer/unicode_tables.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace webaccel::tok {
namespace {

struct FlagRange {
  uint32_t first;
  uint8_t flags;
};

struct MappingEntry {
  uint32_t cp;
  uint32_t offset;  // into the matching pool
  uint32_t length;
};

#include "tokenizer/unicode_data.inc"

// ASCII dominates real text; a flat table skips the binary search for it.
std::array<uint8_t, 128> make_ascii_flags() {
  std::array<uint8_t, 128> table{};
  size_t r = 0;
  for (uint32_t cp = 0; cp < 128; ++cp) {
    while (r + 1 < std::size(kFlagRanges) && kFlagRanges[r + 1].first <= cp) ++r;
    table[cp] = kFlagRanges[r].flags;
  }
  return table;
}

const std::array<uint8_t, 128> kAsciiFlags = make_ascii_flags();

template <size_t N, size_t P>
bool append_mapping(const MappingEntry (&table)[N], const uint32_t (&pool)[P], uint32_t cp, std::u32string& out) {
  const auto* it = std::lower_bound(std::begin(table), std::end(table), cp,
                                    [](const MappingEntry& e, uint32_t v) { return e.cp < v; });
  if (it == std::end(table) || it->cp != cp) return false;
  out.append(pool + it->offset, pool + it->offset + it->length);
  return true;
}

// Hangul syllables decompose by arithmetic (Unicode ch. 3.12), not by table.
constexpr uint32_t kHangulBase = 0xAC00, kHangulCount = 11172;
constexpr uint32_t kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7, kVCount = 21, kTCount = 28;

}  // namespace

uint8_t char_flags(uint32_t cp) {
  if (cp < 128) return kAsciiFlags[cp];
  if (cp >= 0x110000) return 0;
  const auto* it = std::upper_bound(std::begin(kFlagRanges), std::end(kFlagRanges), cp,
                                    [](uint32_t v, const FlagRange& r) { return v < r.first; });
  return std::prev(it)->flags;
}

void append_nfd(uint32_t cp, std::u32string& out) {
  if (cp >= kHangulBase && cp < kHangulBase + kHangulCount) {
    const uint32_t s = cp - kHangulBase;
    out.push_back(kLBase + s / (kVCount * kTCount));
    out.push_back(kVBase + (s % (kVCount * kTCount)) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (!append_mapping(kNfd, kNfdPool, cp, out)) out.push_back(cp);
}

void append_lower(uint32_t cp, std::u32string& out) {
  if (cp < 128) {
    out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    return;
  }
  if (!append_mapping(kLower, kLowerPool, cp, out)) out.push_back(cp);
}

}  // namespace webaccel::tok
