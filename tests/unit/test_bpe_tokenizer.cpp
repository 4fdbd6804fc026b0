// Byte-level BPE: goldens from llama.cpp on SmolLM2 (tests/golden/tokenizer_smollm2.json), plus
// the pre-tokenizer, merge order and vocabulary validation on small hand-made vocabularies.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gguf_vocab_for_tests.h"
#include "tokenizer/bpe_pretokenizer.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace webaccel::tok {
namespace {

std::string golden_dir() {
  const char* dir = std::getenv("WEBACCEL_GOLDEN_DIR");
  return dir && *dir ? dir : "tests/golden";
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// The pieces of text, as UTF-8 strings.
std::vector<std::string> pieces(std::string_view text, PreTokenizer kind) {
  const std::u32string cps = decode_utf8_lenient(text);
  std::vector<Piece> ps;
  pretokenize(cps, kind, ps);
  std::vector<std::string> out;
  for (const Piece& p : ps) {
    std::string s;
    for (size_t i = p.begin; i < p.end; ++i) append_utf8(cps[i], s);
    out.push_back(s);
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(BpePreTokenizer, SplitsLikeGpt2Pattern) {
  const auto k = PreTokenizer::kGpt2;
  EXPECT_EQ(pieces("Hello world", k), (Strings{"Hello", " world"}));
  EXPECT_EQ(pieces("a  b", k), (Strings{"a", " ", " b"}));           // \s+(?!\S) leaves one space for the word
  EXPECT_EQ(pieces("a \n b", k), (Strings{"a", " \n", " b"}));
  EXPECT_EQ(pieces("end   ", k), (Strings{"end", "   "}));
  EXPECT_EQ(pieces("don't I'M", k), (Strings{"don", "'t", " I", "'", "M"}));  // contractions are case-sensitive
  EXPECT_EQ(pieces("we'll they've", k), (Strings{"we", "'ll", " they", "'ve"}));
  EXPECT_EQ(pieces("x += 12345;", k), (Strings{"x", " +=", " 12345", ";"}));
  EXPECT_EQ(pieces("café日本", k), (Strings{"café日本"}));
  EXPECT_EQ(pieces("\t\tx", k), (Strings{"\t", "\t", "x"}));  // only a space prefixes a word
  EXPECT_TRUE(pieces("", k).empty());
}

TEST(BpePreTokenizer, SmollmIsolatesEveryDigit) {
  const auto k = PreTokenizer::kGpt2DigitsSplit;
  EXPECT_EQ(pieces("x += 123;", k), (Strings{"x", " +=", " ", "1", "2", "3", ";"}));
  EXPECT_EQ(pieces("3.14", k), (Strings{"3", ".", "1", "4"}));
  EXPECT_EQ(pieces("½²٣", k), (Strings{"½", "²", "٣"}));  // \p{N} covers No and other scripts' Nd
  EXPECT_EQ(pieces("a1b", k), (Strings{"a", "1", "b"}));
}

TEST(ByteLevel, MapsEveryByteAndBack) {
  EXPECT_EQ(byte_to_unicode(' '), 0x120u);
  EXPECT_EQ(byte_to_unicode('\n'), 0x10Au);
  EXPECT_EQ(byte_to_unicode('A'), static_cast<uint32_t>('A'));
  for (int b = 0; b < 256; ++b) EXPECT_EQ(unicode_to_byte(byte_to_unicode(static_cast<uint8_t>(b))), b);
  EXPECT_FALSE(unicode_to_byte(0x20).has_value());
}

// A toy byte-level vocabulary: the 256 byte tokens, then merged tokens, then <|s|> as control.
BpeVocab toy_vocab() {
  BpeVocab v;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    append_utf8(byte_to_unicode(static_cast<uint8_t>(b)), s);
    v.tokens.push_back(s);
  }
  for (const char* t : {"ab", "abc", "bc", "Ġa"}) v.tokens.push_back(t);
  v.token_types.assign(v.tokens.size(), kNormal);
  v.tokens.push_back("<|s|>");
  v.token_types.push_back(kControl);
  v.merges = {"a b", "ab c", "b c", "Ġ a"};
  v.pre = "smollm";
  v.bos_id = 260;
  v.eos_id = 260;
  return v;
}

TEST(BpeTokenizer, MergesLowestRankFirst) {
  const BpeTokenizer tok(toy_vocab());
  // "abc": a+b (rank 0) beats b+c (rank 2), then ab+c (rank 1).
  EXPECT_EQ(tok.encode("abc", false, false), (std::vector<int32_t>{257}));
  EXPECT_EQ(tok.encode("bc", false, false), (std::vector<int32_t>{258}));
  // " abcx": a+b, then ab+c; "Ġ a" (rank 3) comes too late, as 'a' is gone by then.
  EXPECT_EQ(tok.encode(" abcx", false, false), (std::vector<int32_t>{' ', 257, 'x'}));
  EXPECT_EQ(tok.decode(tok.encode(" abcx", false, false)), " abcx");
}

TEST(BpeTokenizer, SpecialTokensOnlyWhenAsked) {
  const BpeTokenizer tok(toy_vocab());
  EXPECT_EQ(tok.encode("<|s|>ab", true, true), (std::vector<int32_t>{260, 260, 256}));
  const auto plain = tok.encode("<|s|>", false, false);
  EXPECT_EQ(plain.size(), 5u);
  EXPECT_EQ(tok.decode(plain), "<|s|>");
  EXPECT_TRUE(tok.is_control(260));
  EXPECT_FALSE(tok.is_control(256));
  EXPECT_EQ(tok.token_bytes(260), "<|s|>");
  EXPECT_EQ(tok.find("abc"), 257);
  EXPECT_FALSE(tok.find("zzz").has_value());
}

// Expects constructing a tokenizer from v to fail with kFormat, naming `field`.
void expect_format_error(BpeVocab v, const std::string& field) {
  try {
    BpeTokenizer tok(std::move(v));
    FAIL() << "no error; expected one naming " << field;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kFormat);
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(BpeTokenizer, RejectsBadVocabularies) {
  auto v = toy_vocab();
  v.merges.push_back("a zz");
  expect_format_error(v, "tokenizer.ggml.merges[4] 'a zz': right part 'zz'");
  v = toy_vocab();
  v.merges.push_back("c a");  // both parts known, "ca" is not
  expect_format_error(v, "merged 'ca'");
  v = toy_vocab();
  v.merges.push_back("nospace");
  expect_format_error(v, "tokenizer.ggml.merges[4]");
  v = toy_vocab();
  v.bos_id = 9999;
  expect_format_error(v, "tokenizer.ggml.bos_token_id = 9999");
  v = toy_vocab();
  v.eos_id = -5;
  expect_format_error(v, "tokenizer.ggml.eos_token_id");
  v = toy_vocab();
  v.pre = "llama-bpe";
  expect_format_error(v, "tokenizer.ggml.pre = 'llama-bpe'");
  v = toy_vocab();
  v.token_types.pop_back();
  expect_format_error(v, "tokenizer.ggml.token_type");
  v = toy_vocab();
  v.token_types[3] = 42;
  expect_format_error(v, "tokenizer.ggml.token_type[3] = 42");
  v = toy_vocab();
  v.tokens[258] = "ab";
  expect_format_error(v, "tokenizer.ggml.tokens[258] 'ab': duplicate");
  v = toy_vocab();
  v.tokens.clear();
  v.token_types.clear();
  expect_format_error(v, "tokenizer.ggml.tokens");
}

TEST(BpeTokenizer, RejectsBadIdsAtRunTime) {
  const BpeTokenizer tok(toy_vocab());
  try {
    tok.decode(std::vector<int32_t>{1, 261});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInput);
    EXPECT_NE(std::string(e.what()).find("token id 261"), std::string::npos);
  }
  auto v = toy_vocab();
  v.bos_id = -1;
  const BpeTokenizer no_bos(std::move(v));
  EXPECT_THROW(no_bos.encode("a", true, false), Error);
}

class SmolLm2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = testing::models_dir() + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (std::ifstream(path).good()) tok_ = std::make_unique<BpeTokenizer>(testing::GgufVocabReader(path).read());
  }
  void SetUp() override {
    if (!tok_) GTEST_SKIP() << "SmolLM2 GGUF not found under " << testing::models_dir();
  }
  static std::unique_ptr<BpeTokenizer> tok_;
};
std::unique_ptr<BpeTokenizer> SmolLm2::tok_;

TEST_F(SmolLm2, VocabularyMatchesTheModel) {
  EXPECT_EQ(tok_->vocab_size(), 49152u);
  EXPECT_EQ(tok_->bos_id(), 1);
  EXPECT_EQ(tok_->eos_id(), 2);
  EXPECT_FALSE(tok_->add_bos_default());
  EXPECT_EQ(tok_->find("<|im_start|>"), 1);
  EXPECT_TRUE(tok_->is_control(2));
}

TEST_F(SmolLm2, MatchesLlamaCppGoldens) {
  std::ifstream in(golden_dir() + "/tokenizer_smollm2.json");
  ASSERT_TRUE(in) << "missing " << golden_dir() << "/tokenizer_smollm2.json";
  const auto golden = nlohmann::json::parse(in);
  ASSERT_GE(golden["cases"].size(), 40u);
  for (const auto& c : golden["cases"]) {
    const std::string text = c.contains("text") ? c["text"].get<std::string>() : from_hex(c["bytes_hex"]);
    const std::string decoded = c.contains("decoded") ? c["decoded"].get<std::string>() : from_hex(c["decoded_hex"]);
    const auto ids = tok_->encode(text, false, c["parse_special"]);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << "text: " << c.dump();
    EXPECT_EQ(tok_->decode(ids), decoded) << "text: " << c.dump();
  }
}

TEST_F(SmolLm2, StreamedTokenBytesRebuildTheText) {
  const std::string text = "Grüße 日本 😀 x";
  std::string streamed;
  for (int32_t id : tok_->encode(text, false, false)) streamed += tok_->token_bytes(id);
  EXPECT_EQ(streamed, text);
}

}  // namespace
}  // namespace webaccel::tok
