// Cuts special-token texts (e.g. "<|im_start|>", "[CLS]") out of raw text before normal tokenizing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace webaccel::tok {

struct SpecialToken {
  std::string text;
  int32_t id;
};

struct Fragment {
  int32_t token_id;   // the special token, or -1 for raw text
  size_t begin, end;  // byte range of raw text (unused for a special token)
};

// Longest texts are cut first, each over all raw fragments left so far: this is llama.cpp's order,
// which decides between overlapping special texts. `specials` must be sorted longest first.
std::vector<Fragment> split_special_tokens(std::string_view text, const std::vector<SpecialToken>& specials);

// Sorts longest first, ties by id (llama.cpp leaves ties unspecified; this makes them deterministic).
void sort_longest_first(std::vector<SpecialToken>& specials);

}  // namespace webaccel::tok
