#include "tokenizer/byte_level.h"

#include <array>

namespace webaccel::tok {
namespace {

bool maps_to_itself(uint32_t b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct Tables {
  std::array<uint32_t, 256> to_unicode{};
  std::array<int16_t, 512> to_byte{};  // indexed by code point; -1 when unmapped
};

Tables make_tables() {
  Tables t;
  t.to_byte.fill(-1);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    t.to_unicode[b] = maps_to_itself(b) ? b : next++;
    t.to_byte[t.to_unicode[b]] = static_cast<int16_t>(b);
  }
  return t;
}

const Tables& tables() {
  static const Tables t = make_tables();
  return t;
}

}  // namespace

uint32_t byte_to_unicode(uint8_t byte) { return tables().to_unicode[byte]; }

std::optional<uint8_t> unicode_to_byte(uint32_t cp) {
  if (cp >= 512 || tables().to_byte[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(tables().to_byte[cp]);
}

}  // namespace webaccel::tok
