#include "tokenizer/bpe_tokenizer.h"

#include <climits>
#include <queue>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace webaccel::tok {
namespace {

constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kTypes = "tokenizer.ggml.token_type";
constexpr const char* kMerges = "tokenizer.ggml.merges";

// llama.cpp's names for the two GPT-2-pattern pre-tokenizers this class implements.
std::optional<PreTokenizer> pre_tokenizer_named(const std::string& pre) {
  for (const char* name : {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"}) {
    if (pre == name) return PreTokenizer::kGpt2DigitsSplit;
  }
  for (const char* name : {"gpt-2", "phi-2", "mpt", "olmo", "jais"}) {
    if (pre == name) return PreTokenizer::kGpt2;
  }
  return std::nullopt;
}

void check_id(const char* field, int32_t id, size_t n_tokens) {
  if (id < -1 || id >= static_cast<int64_t>(n_tokens)) {
    fail(ErrorKind::kFormat, std::string(field) + " = " + std::to_string(id) + ": out of range for " +
                                 std::to_string(n_tokens) + " tokens");
  }
}

// Token text back to bytes: byte-level code points become their byte, any other code point keeps its UTF-8.
std::string byte_level_to_bytes(std::string_view text) {
  std::string bytes;
  for (uint32_t cp : decode_utf8_lenient(text)) {
    if (auto b = unicode_to_byte(cp)) {
      bytes.push_back(static_cast<char>(*b));
    } else {
      append_utf8(cp, bytes);
    }
  }
  return bytes;
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

BpeTokenizer::BpeTokenizer(BpeVocab vocab) : vocab_(std::move(vocab)) {
  validate_and_index();
  index_merges();
}

void BpeTokenizer::validate_and_index() {
  const size_t n = vocab_.tokens.size();
  if (n == 0) fail(ErrorKind::kFormat, std::string(kTokens) + ": empty vocabulary");
  if (n >= static_cast<size_t>(INT32_MAX)) fail(ErrorKind::kFormat, std::string(kTokens) + ": too many tokens");
  if (vocab_.token_types.empty()) vocab_.token_types.assign(n, kNormal);
  if (vocab_.token_types.size() != n) {
    fail(ErrorKind::kFormat, std::string(kTypes) + ": has " + std::to_string(vocab_.token_types.size()) +
                                 " entries but " + kTokens + " has " + std::to_string(n));
  }
  auto pre = pre_tokenizer_named(vocab_.pre);
  if (!pre) {
    fail(ErrorKind::kFormat, "tokenizer.ggml.pre = '" + vocab_.pre +
                                 "': unsupported pre-tokenizer (supported: smollm, starcoder, refact, command-r, "
                                 "codeshell, exaone, minerva-7b, gpt-2, phi-2, mpt, olmo, jais)");
  }
  pre_ = *pre;
  check_id("tokenizer.ggml.bos_token_id", vocab_.bos_id, n);
  check_id("tokenizer.ggml.eos_token_id", vocab_.eos_id, n);
  check_id("tokenizer.ggml.unknown_token_id", vocab_.unk_id, n);
  check_id("tokenizer.ggml.padding_token_id", vocab_.pad_id, n);
  if (vocab_.add_bos && vocab_.bos_id < 0) {
    fail(ErrorKind::kFormat, "tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is absent");
  }

  token_to_id_.reserve(n);
  token_bytes_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = vocab_.tokens[i];
    const int32_t type = vocab_.token_types[i];
    const auto id = static_cast<int32_t>(i);
    if (type < kUndefined || type > kByte) {
      fail(ErrorKind::kFormat, std::string(kTypes) + "[" + std::to_string(i) + "] = " + std::to_string(type) +
                                   ": not a token type (0..6)");
    }
    // Empty texts can never match; llama.cpp renames them, we just leave them out of the lookup.
    if (text.empty()) continue;
    auto [it, inserted] = token_to_id_.emplace(text, id);
    if (!inserted) {
      fail(ErrorKind::kFormat, std::string(kTokens) + "[" + std::to_string(i) + "] '" + text + "': duplicate of " +
                                   kTokens + "[" + std::to_string(it->second) + "]");
    }
    const bool special = type == kControl || type == kUnknown || type == kUserDefined;
    token_bytes_[i] = special ? text : byte_level_to_bytes(text);
    if (special) specials_all_.push_back({text, id});
    if (type == kUserDefined) specials_user_.push_back({text, id});
  }
  sort_longest_first(specials_all_);
  sort_longest_first(specials_user_);

  // Some vocabularies lack tokens for bytes that never occur in training text (SmolLM2 has no
  // token for 21 of them, e.g. 0x04 and 0xF5..0xFF); llama.cpp drops such bytes, and so do we.
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    append_utf8(byte_to_unicode(static_cast<uint8_t>(b)), ch);
    auto it = token_to_id_.find(ch);
    byte_token_[b] = it == token_to_id_.end() ? -1 : it->second;
  }
}

void BpeTokenizer::index_merges() {
  merges_.reserve(vocab_.merges.size());
  for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
    const std::string& m = vocab_.merges[rank];
    const std::string where = std::string(kMerges) + "[" + std::to_string(rank) + "] '" + m + "'";
    const size_t space = m.find(' ', 1);  // from 1, as llama.cpp: a left part may start with a space
    if (space == std::string::npos) fail(ErrorKind::kFormat, where + ": no space between the pair");
    const std::string left = m.substr(0, space), right = m.substr(space + 1);
    auto l = token_to_id_.find(left);
    if (l == token_to_id_.end()) fail(ErrorKind::kFormat, where + ": left part '" + left + "' is not a token");
    auto r = token_to_id_.find(right);
    if (r == token_to_id_.end()) fail(ErrorKind::kFormat, where + ": right part '" + right + "' is not a token");
    auto merged = token_to_id_.find(left + right);
    if (merged == token_to_id_.end()) {
      fail(ErrorKind::kFormat, where + ": merged '" + left + right + "' is not a token");
    }
    // A repeated pair keeps its first (lowest) rank, as llama.cpp's emplace does.
    merges_.emplace(pair_key(l->second, r->second), Merge{static_cast<int32_t>(rank), merged->second});
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view utf8_text, bool add_bos, bool parse_special) const {
  // Symbol positions inside one piece are int32_t.
  if (utf8_text.size() > static_cast<size_t>(INT32_MAX)) {
    fail(ErrorKind::kInput, "text of " + std::to_string(utf8_text.size()) + " bytes is too long to tokenize");
  }
  std::vector<int32_t> out;
  out.reserve(utf8_text.size() / 3 + 2);
  if (add_bos) {
    if (vocab_.bos_id < 0) fail(ErrorKind::kInput, "add_bos requested but tokenizer.ggml.bos_token_id is absent");
    out.push_back(vocab_.bos_id);
  }
  for (const Fragment& f : split_special_tokens(utf8_text, parse_special ? specials_all_ : specials_user_)) {
    if (f.token_id >= 0) {
      out.push_back(f.token_id);
    } else {
      encode_text(utf8_text.substr(f.begin, f.end - f.begin), out);
    }
  }
  return out;
}

void BpeTokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  const std::u32string cps = decode_utf8_lenient(text);
  std::vector<Piece> pieces;
  pretokenize(cps, pre_, pieces);
  std::string bytes;
  for (const Piece& p : pieces) {
    bytes.clear();
    for (size_t i = p.begin; i < p.end; ++i) append_utf8(cps[i], bytes);
    merge_word(bytes, out);
  }
}

void BpeTokenizer::merge_word(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.size() == 1) {
    if (int32_t id = byte_token_[static_cast<uint8_t>(bytes[0])]; id >= 0) out.push_back(id);
    return;
  }
  struct Symbol {
    int32_t id;          // -1 for a byte without a token (never merges, dropped)
    int32_t prev, next;  // -1 at the ends; next is kDead once merged into the left neighbour
  };
  struct Candidate {
    int32_t rank, left, right, left_id, right_id, result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  constexpr int32_t kDead = -2;
  const auto n = static_cast<int32_t>(bytes.size());
  std::vector<Symbol> sym(n);
  for (int32_t i = 0; i < n; ++i) sym[i] = {byte_token_[static_cast<uint8_t>(bytes[i])], i - 1, i + 1 < n ? i + 1 : -1};

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    auto it = merges_.find(pair_key(sym[left].id, sym[right].id));
    if (it != merges_.end()) queue.push({it->second.rank, left, right, sym[left].id, sym[right].id, it->second.result});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i, i + 1);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = sym[c.left];
    Symbol& r = sym[c.right];
    // Stale: one side has merged since this pair was queued (ids only ever change by merging).
    if (l.id != c.left_id || r.id != c.right_id || l.next != c.right) continue;
    l.id = c.result;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.left;
    r.next = kDead;
    push_pair(l.prev, c.left);
    push_pair(c.left, l.next);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) {
    if (sym[i].id >= 0) out.push_back(sym[i].id);
  }
}

const std::string& BpeTokenizer::token_bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= token_bytes_.size()) {
    fail(ErrorKind::kInput, "token id " + std::to_string(id) + " out of range for vocabulary of " +
                                std::to_string(token_bytes_.size()));
  }
  return token_bytes_[id];
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) text += token_bytes(id);
  return text;
}

bool BpeTokenizer::is_control(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < vocab_.token_types.size() && vocab_.token_types[id] == kControl;
}

std::optional<int32_t> BpeTokenizer::find(std::string_view token_text) const {
  auto it = token_to_id_.find(std::string(token_text));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace webaccel::tok
