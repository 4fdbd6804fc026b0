// Byte-level BPE (GPT-2 style), as GGUF files with tokenizer.ggml.model = "gpt2" describe it.
//
// Usage:
//   webaccel::tok::BpeVocab v;           // filled from GGUF: tokens, token_type, merges, pre, ids
//   webaccel::tok::BpeTokenizer tok(std::move(v));          // validates; throws webaccel::Error
//   auto ids = tok.encode("<|im_start|>user\nHi<|im_end|>", /*add_bos=*/tok.add_bos_default(),
//                         /*parse_special=*/true);
//   std::string text = tok.decode(ids);
//
// Output matches llama.cpp's llama_tokenize (verified on SmolLM2 by tests/golden/tokenizer_smollm2.json):
// special texts are cut out first (control/unknown tokens only when parse_special; user-defined
// ones always, as llama.cpp does), the rest is split by the pre-tokenizer (bpe_pretokenizer.h),
// mapped to byte-level symbols and merged by rank, lowest first, leftmost on ties.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/bpe_pretokenizer.h"
#include "tokenizer/special_tokens.h"

namespace webaccel::tok {

// GGUF tokenizer.ggml.token_type values.
enum TokenType : int32_t { kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct BpeVocab {
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens (byte-level unicode-mapped strings)
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type; empty means all normal
  std::vector<std::string> merges;   // tokenizer.ggml.merges, "left right", rank = index
  std::string pre;                   // tokenizer.ggml.pre, e.g. "smollm"
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;  // -1: absent
  bool add_bos = false;              // tokenizer.ggml.add_bos_token
};

class BpeTokenizer {
 public:
  // Validates ids, token types, merges and pre; throws webaccel::Error(kFormat) naming the GGUF field.
  explicit BpeTokenizer(BpeVocab vocab);

  // parse_special: control-token texts such as "<|im_start|>" in the text become their ids.
  // Invalid UTF-8 bytes are tokenized as U+FFFD, as llama.cpp does.
  std::vector<int32_t> encode(std::string_view utf8_text, bool add_bos, bool parse_special) const;

  // Raw bytes of one token, for streaming output (may be part of a UTF-8 sequence);
  // control, unknown and user-defined tokens give their text. Throws kInput when out of range.
  const std::string& token_bytes(int32_t id) const;
  std::string decode(std::span<const int32_t> ids) const;

  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }
  int32_t unk_id() const { return vocab_.unk_id; }
  int32_t pad_id() const { return vocab_.pad_id; }
  bool add_bos_default() const { return vocab_.add_bos; }
  size_t vocab_size() const { return vocab_.tokens.size(); }
  bool is_control(int32_t id) const;
  std::optional<int32_t> find(std::string_view token_text) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };

  void validate_and_index();
  void index_merges();
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  void merge_word(std::string_view bytes, std::vector<int32_t>& out) const;

  BpeVocab vocab_;
  PreTokenizer pre_ = PreTokenizer::kGpt2;
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::unordered_map<uint64_t, Merge> merges_;     // key: left id << 32 | right id
  std::array<int32_t, 256> byte_token_{};          // token of each single byte
  std::vector<std::string> token_bytes_;           // decoded bytes of each token
  std::vector<SpecialToken> specials_all_;         // control, unknown and user-defined, longest first
  std::vector<SpecialToken> specials_user_;        // user-defined only, longest first
};

}  // namespace webaccel::tok
