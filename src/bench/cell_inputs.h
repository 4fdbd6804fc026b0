// The input of a benchmark cell, the same on every backend so cells compare like with like: the
// token ids the native runner evaluates, and for hosts that take text (the CLI's embed, the JS
// API) a text that the model's tokenizer turns back into exactly those ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace webaccel::bench {

struct CellInput {
  std::vector<int32_t> ids;  // what is evaluated, special tokens included
  std::string text;          // encodes back to ids, unless text_problem says otherwise
  std::string text_problem;  // empty when the text round-trips; else why hosts taking text cannot get this input
};

// n prompt tokens of English prose, BOS first when the model adds one.
CellInput llama_prompt(const tok::BpeTokenizer& tokenizer, int n, const std::string& model_path);

// [CLS] + n - 2 word pieces of the same prose + [SEP].
CellInput bert_sentence(const tok::WordPieceTokenizer& tokenizer, int n, const std::string& model_path);

// The input of an n-token cell of a llama GGUF/package or a BERT folder, from its own tokenizer.
CellInput cell_input(const std::string& arch, const std::string& weights_path, int n);

}  // namespace webaccel::bench
