// Splits text into the pieces that byte-level BPE merges within, as llama.cpp does.
//
// The GPT-2 pattern  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// is matched by a hand-written scanner over code points (std::regex has no \p{..} classes and
// backtracks; this is one linear pass). Contractions are case-sensitive ("I'M" does not match 'm).
// \s is the Unicode White_Space property; \p{L} and \p{N} use the Unicode 15.1 tables.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace webaccel::tok {

enum class PreTokenizer {
  kGpt2,              // the GPT-2 pattern alone ("gpt-2", "phi-2", "mpt", "olmo", "jais")
  kGpt2DigitsSplit,   // first \p{N} isolates every number code point, then GPT-2 ("smollm", "starcoder", ...)
};

struct Piece {
  size_t begin;  // code point offsets into the text
  size_t end;
};

// Appends the pieces of cps, in order, covering it exactly.
void pretokenize(std::u32string_view cps, PreTokenizer kind, std::vector<Piece>& out);

}  // namespace webaccel::tok
