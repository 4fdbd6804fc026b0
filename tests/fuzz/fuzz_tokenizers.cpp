// libFuzzer target: arbitrary bytes into both encoders, then decode. Checks that ids are in range,
// that WordPiece keeps [CLS] ... [SEP] within max_len, and that byte-level BPE round-trips every
// valid UTF-8 text whose bytes all have tokens.
//   clang++-14 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -Itests/unit \
//     tests/fuzz/fuzz_tokenizers.cpp src/tokenizer/*.cpp -o fuzz_tokenizers
//   WEBACCEL_MODELS_DIR=models ./fuzz_tokenizers -max_total_time=60
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "gguf_vocab_for_tests.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace {

using namespace webaccel;

std::unique_ptr<tok::BpeTokenizer> g_bpe;
std::unique_ptr<tok::WordPieceTokenizer> g_wordpiece;
bool g_byte_has_token[256];

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_tokenizers: check failed: %s\n", what);
    std::abort();
  }
}

bool is_valid_utf8(std::string_view text) {
  std::string again;
  for (uint32_t cp : tok::decode_utf8_strict(text)) tok::append_utf8(cp, again);
  return again == text;
}

bool round_trip_expected(std::string_view text) {
  if (!is_valid_utf8(text)) return false;
  for (unsigned char b : text) {
    if (!g_byte_has_token[b]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = testing::models_dir();
  const std::string gguf = dir + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
  const std::string vocab = dir + "/minilm/vocab.txt";
  if (!std::ifstream(gguf).good() || !std::ifstream(vocab).good()) {
    std::fprintf(stderr, "fuzz_tokenizers: needs %s and %s (set WEBACCEL_MODELS_DIR)\n", gguf.c_str(), vocab.c_str());
    std::exit(1);
  }
  g_bpe = std::make_unique<tok::BpeTokenizer>(testing::GgufVocabReader(gguf).read());
  g_wordpiece = std::make_unique<tok::WordPieceTokenizer>(tok::WordPieceTokenizer::from_vocab_file(vocab, {}));
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    tok::append_utf8(tok::byte_to_unicode(static_cast<uint8_t>(b)), ch);
    g_byte_has_token[b] = g_bpe->find(ch).has_value();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: options; the rest is the text.
  const bool parse_special = data[0] & 1;
  const size_t max_len = 2 + (data[0] >> 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const auto bpe_ids = g_bpe->encode(text, false, parse_special);
  for (int32_t id : bpe_ids) check(id >= 0 && static_cast<size_t>(id) < g_bpe->vocab_size(), "bpe id in range");
  const std::string bpe_text = g_bpe->decode(bpe_ids);
  if (round_trip_expected(text)) check(bpe_text == text, "bpe decode(encode(x)) == x");

  const auto wp_ids = g_wordpiece->encode(text, max_len);
  check(wp_ids.size() >= 2 && wp_ids.size() <= max_len, "wordpiece length within max_len");
  check(wp_ids.front() == g_wordpiece->cls_id() && wp_ids.back() == g_wordpiece->sep_id(), "wordpiece [CLS] ... [SEP]");
  g_wordpiece->decode(wp_ids);
  return 0;
}
