#include "tokenizer/bert_basic_tokenizer.h"

#include "tokenizer/unicode_tables.h"
#include "tokenizer/utf8.h"

namespace webaccel::tok {
namespace {

bool is_ascii_punct(uint32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

bool is_bert_punct(uint32_t cp) { return is_ascii_punct(cp) || (char_flags(cp) & kPunct); }

// Step 1 and 2: returns the cleaned code points, CJK spaced out.
std::u32string clean(const std::u32string& in, bool split_cjk) {
  std::u32string out;
  out.reserve(in.size());
  for (uint32_t cp : in) {
    const uint8_t f = char_flags(cp);
    const bool tab_or_newline = cp == U'\t' || cp == U'\n' || cp == U'\r';
    if (cp == 0 || cp == kReplacementChar || ((f & kControl) && !tab_or_newline)) continue;
    if (f & kWhitespace) {
      out.push_back(U' ');
    } else if (split_cjk && is_bert_cjk(cp)) {
      out.push_back(U' ');
      out.push_back(cp);
      out.push_back(U' ');
    } else {
      out.push_back(cp);
    }
  }
  return out;
}

}  // namespace

bool is_bert_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<std::string> bert_basic_tokenize(std::string_view utf8_text, const BertBasicOptions& options) {
  std::u32string text = clean(decode_utf8_strict(utf8_text), options.split_cjk);
  if (options.strip_accents) {
    std::u32string decomposed;
    decomposed.reserve(text.size());
    for (uint32_t cp : text) append_nfd(cp, decomposed);
    text.clear();
    for (uint32_t cp : decomposed) {
      if (!(char_flags(cp) & kMarkNonspacing)) text.push_back(cp);
    }
  }
  if (options.lowercase) {
    std::u32string lowered;
    lowered.reserve(text.size());
    for (uint32_t cp : text) append_lower(cp, lowered);
    text.swap(lowered);
  }

  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (uint32_t cp : text) {
    if (is_whitespace(cp)) {
      flush();
    } else if (is_bert_punct(cp)) {
      flush();
      append_utf8(cp, word);
      flush();
    } else {
      append_utf8(cp, word);
    }
  }
  flush();
  return words;
}

}  // namespace webaccel::tok
