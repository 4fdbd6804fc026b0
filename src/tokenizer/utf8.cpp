#include "tokenizer/utf8.h"

namespace webaccel::tok {
namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes one sequence at text[i] by lead/continuation bits alone; returns its length, 0 if malformed.
size_t decode_structural(std::string_view text, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const size_t left = text.size() - i;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (left < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if (!is_continuation(b)) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

bool is_shortest_form(uint32_t cp, size_t len) {
  switch (len) {
    case 2: return cp >= 0x80;
    case 3: return cp >= 0x800;
    case 4: return cp >= 0x10000;
    default: return true;
  }
}

}  // namespace

std::u32string decode_utf8_lenient(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = decode_structural(text, i, cp);
    if (len == 0) {
      out.push_back(kReplacementChar);
      ++i;
      continue;
    }
    out.push_back(cp <= 0x10FFFF ? cp : kReplacementChar);
    i += len;
  }
  return out;
}

std::u32string decode_utf8_strict(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = decode_structural(text, i, cp);
    const bool valid = len > 0 && is_shortest_form(cp, len) && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!valid) {
      out.push_back(kReplacementChar);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace webaccel::tok
