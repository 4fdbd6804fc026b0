// GPT-2's byte <-> unicode mapping: every byte gets a printable code point so that byte-level
// vocabularies can be stored as text. Printable Latin-1 bytes map to themselves, the other 68 to
// U+0100.. in byte order (space 0x20 -> U+0120 'Ġ', newline 0x0A -> U+010A 'Ċ').
#pragma once

#include <cstdint>
#include <optional>

namespace webaccel::tok {

uint32_t byte_to_unicode(uint8_t byte);

// The byte a code point stands for, or nothing when it is not one of the 256 mapped code points.
std::optional<uint8_t> unicode_to_byte(uint32_t cp);

}  // namespace webaccel::tok
