#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace webaccel::tok {

std::vector<Fragment> split_special_tokens(std::string_view text, const std::vector<SpecialToken>& specials) {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({-1, 0, text.size()});
  std::vector<Fragment> next;
  for (const SpecialToken& special : specials) {
    if (special.text.empty()) continue;
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token_id >= 0) {
        next.push_back(f);
        continue;
      }
      size_t begin = f.begin;
      while (begin < f.end) {
        const size_t hit = text.substr(0, f.end).find(special.text, begin);
        if (hit == std::string_view::npos) break;
        if (hit > begin) next.push_back({-1, begin, hit});
        next.push_back({special.id, 0, 0});
        begin = hit + special.text.size();
      }
      if (begin < f.end) next.push_back({-1, begin, f.end});
    }
    fragments.swap(next);
  }
  return fragments;
}

void sort_longest_first(std::vector<SpecialToken>& specials) {
  std::sort(specials.begin(), specials.end(), [](const SpecialToken& a, const SpecialToken& b) {
    return a.text.size() != b.text.size() ? a.text.size() > b.text.size() : a.id < b.id;
  });
}

}  // namespace webaccel::tok
