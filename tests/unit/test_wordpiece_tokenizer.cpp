// WordPiece: goldens from HF tokenizers on all-MiniLM-L6-v2 (tests/golden/tokenizer_minilm.json),
// plus BERT's basic tokenizer and the WordPiece rules on a small hand-made vocabulary.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gguf_vocab_for_tests.h"
#include "tokenizer/bert_basic_tokenizer.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace webaccel::tok {
namespace {

using Strings = std::vector<std::string>;
using Ids = std::vector<int32_t>;

std::string golden_dir() {
  const char* dir = std::getenv("WEBACCEL_GOLDEN_DIR");
  return dir && *dir ? dir : "tests/golden";
}

TEST(BertBasicTokenizer, NormalizesAndSplits) {
  const BertBasicOptions on;
  EXPECT_EQ(bert_basic_tokenize("Hello, World!", on), (Strings{"hello", ",", "world", "!"}));
  EXPECT_EQ(bert_basic_tokenize("Café NAÏVE e\u0301", on), (Strings{"cafe", "naive", "e"}));
  EXPECT_EQ(bert_basic_tokenize("Ångström İ Σ", on), (Strings{"angstrom", "i", "σ"}));
  EXPECT_EQ(bert_basic_tokenize("ab日本cd", on), (Strings{"ab", "日", "本", "cd"}));
  EXPECT_EQ(bert_basic_tokenize("a\tb\nc\u3000d\u00a0e", on), (Strings{"a", "b", "c", "d", "e"}));
  // Controls, format and private-use characters vanish without splitting the word.
  EXPECT_EQ(bert_basic_tokenize(std::string("x\0y\x07z\u200b\u00adw\ue000v", 15), on), (Strings{"xyzwv"}));
  EXPECT_EQ(bert_basic_tokenize("a$b^c`d", on), (Strings{"a", "$", "b", "^", "c", "`", "d"}));  // ASCII punct incl. symbols
  EXPECT_EQ(bert_basic_tokenize("x\xff\xc0y", on), (Strings{"xy"}));  // invalid UTF-8 -> U+FFFD -> dropped
  EXPECT_EQ(bert_basic_tokenize("한", on).at(0), "\u1112\u1161\u11ab");  // Hangul decomposes to jamo
  EXPECT_TRUE(bert_basic_tokenize("  \n ", on).empty());
}

TEST(BertBasicTokenizer, OptionsTurnStepsOff) {
  const BertBasicOptions cased{false, false, false};
  EXPECT_EQ(bert_basic_tokenize("Café 日本", cased), (Strings{"Café", "日本"}));
  const BertBasicOptions lower_only{true, false, true};
  EXPECT_EQ(bert_basic_tokenize("CAFÉ", lower_only), (Strings{"café"}));
}

WordPieceTokenizer toy() {
  return WordPieceTokenizer({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a", "##b", ",", "hello"},
                            WordPieceConfig{});
}

TEST(WordPieceTokenizer, GreedyLongestMatchFirst) {
  const auto tok = toy();
  EXPECT_EQ(tok.encode("unaffable", 16), (Ids{2, 5, 6, 7, 3}));
  EXPECT_EQ(tok.encode("Hello, ab", 16), (Ids{2, 11, 10, 8, 9, 3}));
  EXPECT_EQ(tok.encode("unaffablex hello", 16), (Ids{2, 1, 11, 3}));  // one unknown piece: the word is [UNK]
  EXPECT_EQ(tok.encode("", 16), (Ids{2, 3}));
  EXPECT_EQ(tok.decode(tok.encode("unaffable, hello", 16)), "unaffable, hello");
}

TEST(WordPieceTokenizer, SpecialTextsAndTruncation) {
  const auto tok = toy();
  EXPECT_EQ(tok.encode("hello[MASK]a", 16), (Ids{2, 11, 4, 8, 3}));
  EXPECT_EQ(tok.encode("hello hello hello", 4), (Ids{2, 11, 11, 3}));
  EXPECT_EQ(tok.encode("hello", 2), (Ids{2, 3}));
  try {
    tok.encode("hello", 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInput);
  }
}

TEST(WordPieceTokenizer, LongWordsAreUnknown) {
  WordPieceConfig cfg;
  cfg.max_chars_per_word = 4;
  const WordPieceTokenizer tok({"[UNK]", "[CLS]", "[SEP]", "a", "##a"}, cfg);
  EXPECT_EQ(tok.encode("aaaa aaaaa", 16), (Ids{1, 3, 4, 4, 4, 0, 2}));
}

TEST(WordPieceTokenizer, RejectsBadVocabularies) {
  try {
    WordPieceTokenizer({"[CLS]", "[SEP]", "a"}, WordPieceConfig{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kFormat);
    EXPECT_NE(std::string(e.what()).find("unk token '[UNK]'"), std::string::npos) << e.what();
  }
  const std::string path = ::testing::TempDir() + "/wordpiece_dup_vocab.txt";
  std::ofstream(path) << "[UNK]\n[CLS]\n[SEP]\nx\nx\n";
  try {
    WordPieceTokenizer::from_vocab_file(path, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": line 5: token 'x' repeats line 4"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  try {
    WordPieceTokenizer::from_vocab_file("/nonexistent/vocab.txt", {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vocab.txt"), std::string::npos);
  }
  EXPECT_THROW(toy().decode(Ids{2, 99}), Error);
}

class MiniLm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = testing::models_dir() + "/minilm/vocab.txt";
    if (std::ifstream(path).good()) {
      tok_ = std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_vocab_file(path, WordPieceConfig{}));
    }
  }
  void SetUp() override {
    if (!tok_) GTEST_SKIP() << "minilm/vocab.txt not found under " << testing::models_dir();
  }
  static std::unique_ptr<WordPieceTokenizer> tok_;
};
std::unique_ptr<WordPieceTokenizer> MiniLm::tok_;

TEST_F(MiniLm, MatchesHfTokenizersGoldens) {
  EXPECT_EQ(tok_->vocab_size(), 30522u);
  std::ifstream in(golden_dir() + "/tokenizer_minilm.json");
  ASSERT_TRUE(in) << "missing " << golden_dir() << "/tokenizer_minilm.json";
  const auto golden = nlohmann::json::parse(in);
  ASSERT_GE(golden["cases"].size(), 40u);
  for (const auto& c : golden["cases"]) {
    const auto ids = tok_->encode(c["text"].get<std::string>(), c["max_len"].get<size_t>());
    EXPECT_EQ(ids, c["ids"].get<Ids>()) << c.dump();
    EXPECT_EQ(tok_->decode(ids), c["decoded"].get<std::string>()) << c.dump();
  }
}

}  // namespace
}  // namespace webaccel::tok
