// BERT's "basic tokenizer": normalizes text and splits it into words and punctuation, the step
// before WordPiece. Follows HF tokenizers' BertNormalizer + BertPreTokenizer (what tokenizer.json
// of BERT-family models runs):
//   1. clean: drop U+0000, U+FFFD, controls, format and private-use characters (Cc, Cf, Co) except \t \n \r; White_Space becomes ' '
//   2. CJK ideographs get a space on each side
//   3. strip accents: NFD, then drop non-spacing marks (Mn)
//   4. lowercase, per code point (no final-sigma rule)
//   5. split on whitespace; each punctuation character (ASCII punctuation or Unicode P*) is a word
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace webaccel::tok {

struct BertBasicOptions {
  bool lowercase = true;
  bool strip_accents = true;
  bool split_cjk = true;
};

// Words in order, UTF-8. Invalid UTF-8 bytes read as U+FFFD and are thus dropped by the clean step.
std::vector<std::string> bert_basic_tokenize(std::string_view utf8_text, const BertBasicOptions& options);

// The CJK ranges BERT spaces out. Matches HF tokenizers, which starts Extension E at U+2B920
// (Google's BERT and HF transformers use U+2B820).
bool is_bert_cjk(uint32_t cp);

}  // namespace webaccel::tok
