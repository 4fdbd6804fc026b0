// Unicode character properties for the tokenizers, from tables generated out of Unicode 15.1.
//
// Coverage: general categories of every code point (letters L*, numbers N*, punctuation P*,
// non-spacing marks Mn, controls Cc/Cf), the White_Space property, full canonical decomposition
// (NFD, Hangul computed) and full per-code-point lowercase. Hand-written lookups over generated
// tables because std::regex has no \p{..} classes and ICU is too heavy for the wasm build.
#pragma once

#include <cstdint>
#include <string>

namespace webaccel::tok {

enum CharFlag : uint8_t {
  kLetter = 1,            // \p{L}
  kNumber = 2,            // \p{N}
  kPunct = 4,             // \p{P}
  kMarkNonspacing = 8,    // Mn: what BERT's accent stripping drops after NFD
  kControl = 16,          // Cc, Cf, Co: what BERT's clean_text drops
  kWhitespace = 32,       // White_Space property (PropList.txt)
};

uint8_t char_flags(uint32_t cp);

inline bool is_letter(uint32_t cp) { return char_flags(cp) & kLetter; }
inline bool is_number(uint32_t cp) { return char_flags(cp) & kNumber; }
inline bool is_whitespace(uint32_t cp) { return char_flags(cp) & kWhitespace; }

// Appends the full NFD decomposition of cp (cp itself when it has none) to out.
void append_nfd(uint32_t cp, std::u32string& out);

// Appends the lowercase of cp (one to three code points) to out.
void append_lower(uint32_t cp, std::u32string& out);

}  // namespace webaccel::tok
