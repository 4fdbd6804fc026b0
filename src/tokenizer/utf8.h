// UTF-8 <-> code points, with the two policies the tokenizers need for invalid input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace webaccel::tok {

constexpr uint32_t kReplacementChar = 0xFFFD;

// llama.cpp's decoder, so BPE ids match it on any bytes: it checks lead and continuation bits
// only (overlong forms and surrogates pass through and re-encode to the same bytes); each byte
// that fails the check becomes U+FFFD. Values past U+10FFFF, where llama.cpp throws, also become U+FFFD.
std::u32string decode_utf8_lenient(std::string_view text);

// Standard validation (no overlongs, surrogates or values past U+10FFFF); each byte that does not
// start a valid sequence becomes U+FFFD.
std::u32string decode_utf8_strict(std::string_view text);

// Appends cp as 1-4 bytes; surrogates are encoded as-is (3 bytes), like llama.cpp does.
void append_utf8(uint32_t cp, std::string& out);

}  // namespace webaccel::tok
