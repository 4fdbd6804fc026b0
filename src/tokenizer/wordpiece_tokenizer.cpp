#include "tokenizer/wordpiece_tokenizer.h"

#include <fstream>

#include "core/error.h"
#include "tokenizer/bert_basic_tokenizer.h"

namespace webaccel::tok {
namespace {

constexpr std::string_view kContinuation = "##";

bool is_utf8_lead(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }

// HF's WordPiece decoder cleanup, applied to each token as HF does.
std::string cleanup(std::string s) {
  static const std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},        {" ,", ","},    {" ' ", "'"},   {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  return s;
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path, WordPieceConfig cfg) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kIo, path + ": cannot open WordPiece vocabulary");
  std::vector<std::string> vocab;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(line);
  }
  if (in.bad()) fail(ErrorKind::kIo, path + ": read error");
  try {
    return WordPieceTokenizer(std::move(vocab), std::move(cfg));
  } catch (const Error& e) {
    fail(e.kind(), path + ": " + e.what());
  }
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceConfig cfg)
    : vocab_(std::move(vocab)), cfg_(std::move(cfg)) {
  if (vocab_.empty()) fail(ErrorKind::kFormat, "empty WordPiece vocabulary");
  token_to_id_.reserve(vocab_.size());
  for (size_t i = 0; i < vocab_.size(); ++i) {
    // Empty lines keep their id but can never match.
    if (vocab_[i].empty()) continue;
    auto [it, inserted] = token_to_id_.emplace(vocab_[i], static_cast<int32_t>(i));
    if (!inserted) {
      fail(ErrorKind::kFormat, "line " + std::to_string(i + 1) + ": token '" + vocab_[i] + "' repeats line " +
                                   std::to_string(it->second + 1));
    }
    max_token_bytes_ = std::max(max_token_bytes_, vocab_[i].size());
  }
  unk_id_ = required_id(cfg_.unk, "unk");
  cls_id_ = required_id(cfg_.cls, "cls");
  sep_id_ = required_id(cfg_.sep, "sep");
  pad_id_ = find(cfg_.pad).value_or(-1);
  for (const std::string* text : {&cfg_.unk, &cfg_.cls, &cfg_.sep, &cfg_.pad, &cfg_.mask}) {
    if (auto id = find(*text)) specials_.push_back({*text, *id});
  }
  sort_longest_first(specials_);
}

int32_t WordPieceTokenizer::required_id(const std::string& text, const char* role) const {
  auto id = find(text);
  if (!id) fail(ErrorKind::kFormat, std::string(role) + " token '" + text + "' is not in the vocabulary");
  return *id;
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view utf8_text, size_t max_len) const {
  if (max_len < 2) {
    fail(ErrorKind::kInput, "max_len " + std::to_string(max_len) + " leaves no room for [CLS] and [SEP]");
  }
  const BertBasicOptions options{cfg_.lowercase, cfg_.strip_accents, cfg_.tokenize_chinese_chars};
  std::vector<int32_t> ids{cls_id_};
  for (const Fragment& f : split_special_tokens(utf8_text, specials_)) {
    if (f.token_id >= 0) {
      ids.push_back(f.token_id);
      continue;
    }
    for (const std::string& word : bert_basic_tokenize(utf8_text.substr(f.begin, f.end - f.begin), options)) {
      split_word(word, ids);
    }
  }
  if (ids.size() > max_len - 1) ids.resize(max_len - 1);
  ids.push_back(sep_id_);
  return ids;
}

void WordPieceTokenizer::split_word(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<size_t> bounds;  // byte offset of each code point, then the end
  for (size_t i = 0; i < word.size(); ++i) {
    if (is_utf8_lead(word[i])) bounds.push_back(i);
  }
  if (bounds.size() > cfg_.max_chars_per_word) {
    out.push_back(unk_id_);
    return;
  }
  bounds.push_back(word.size());
  const size_t first_piece = out.size();
  std::string candidate;
  for (size_t start = 0; start + 1 < bounds.size();) {
    std::optional<int32_t> found;
    size_t end = bounds.size() - 1;
    for (; end > start; --end) {
      const size_t bytes = bounds[end] - bounds[start];
      if (bytes + (start > 0 ? kContinuation.size() : 0) > max_token_bytes_) continue;
      candidate.assign(start > 0 ? kContinuation : std::string_view());
      candidate.append(word.substr(bounds[start], bytes));
      if (auto it = token_to_id_.find(candidate); it != token_to_id_.end()) {
        found = it->second;
        break;
      }
    }
    // A word with any piece not in the vocabulary is [UNK] as a whole.
    if (!found) {
      out.resize(first_piece);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(*found);
    start = end;
  }
}

std::string WordPieceTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  bool first = true;
  for (int32_t id : ids) {
    const std::string& piece = token(id);
    bool special = false;
    for (const SpecialToken& s : specials_) special = special || s.id == id;
    if (special) continue;
    std::string part;
    if (first) {
      part = piece;
    } else if (piece.starts_with(kContinuation)) {
      part = piece.substr(kContinuation.size());
    } else {
      part = " " + piece;
    }
    text += cleanup(std::move(part));
    first = false;
  }
  return text;
}

const std::string& WordPieceTokenizer::token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) {
    fail(ErrorKind::kInput, "token id " + std::to_string(id) + " out of range for vocabulary of " +
                                std::to_string(vocab_.size()));
  }
  return vocab_[id];
}

std::optional<int32_t> WordPieceTokenizer::find(std::string_view token_text) const {
  auto it = token_to_id_.find(std::string(token_text));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace webaccel::tok
