// WordPiece (BERT) tokenizer: BERT's basic tokenizer (bert_basic_tokenizer.h), then greedy
// longest-match-first lookup of each word with "##" marking word-inner pieces.
//
// Usage:
//   WordPieceConfig cfg;  // from tokenizer_config.json: do_lower_case -> lowercase; strip_accents
//                         // null means "same as lowercase", as in HF
//   auto tok = WordPieceTokenizer::from_vocab_file("models/minilm/vocab.txt", cfg);
//   std::vector<int32_t> ids = tok.encode("Hello, world!", 128);  // [CLS] hello , world ! [SEP]
//
// Output matches HF tokenizers on the model's tokenizer.json (tests/golden/tokenizer_minilm.json):
// the special texts ("[CLS]", "[MASK]", ...) written in the input are cut out first and become
// their ids, as HF's added tokens are.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/special_tokens.h"

namespace webaccel::tok {

struct WordPieceConfig {
  bool lowercase = true;
  bool strip_accents = true;
  bool tokenize_chinese_chars = true;
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
  size_t max_chars_per_word = 100;  // longer words become [UNK]
};

class WordPieceTokenizer {
 public:
  // One token per line; the line number (from 0) is the id. Errors name the file and line.
  static WordPieceTokenizer from_vocab_file(const std::string& path, WordPieceConfig cfg);

  // Throws webaccel::Error(kFormat) when unk, cls or sep is missing, or a token repeats.
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceConfig cfg);

  // [CLS] tokens... [SEP], keeping the first max_len - 2 tokens of the text. Throws kInput when max_len < 2.
  std::vector<int32_t> encode(std::string_view utf8_text, size_t max_len) const;

  // Text of ids without special tokens: "##" pieces join the previous one, others follow a space.
  std::string decode(std::span<const int32_t> ids) const;

  const std::string& token(int32_t id) const;  // throws kInput when out of range
  std::optional<int32_t> find(std::string_view token_text) const;
  size_t vocab_size() const { return vocab_.size(); }
  const WordPieceConfig& config() const { return cfg_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }  // -1 when the vocabulary has none
  int32_t unk_id() const { return unk_id_; }

 private:
  void split_word(std::string_view word, std::vector<int32_t>& out) const;
  int32_t required_id(const std::string& text, const char* role) const;

  std::vector<std::string> vocab_;
  WordPieceConfig cfg_;
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::vector<SpecialToken> specials_;  // longest first
  size_t max_token_bytes_ = 0;
  int32_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1;
};

}  // namespace webaccel::tok
