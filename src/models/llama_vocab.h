// The BPE vocabulary a llama GGUF carries (tokenizer.ggml.*), as the tokenizer wants it.
#pragma once

#include "format/gguf.h"
#include "tokenizer/bpe_tokenizer.h"

namespace webaccel {

tok::BpeVocab bpe_vocab_from_gguf(const GgufFile& gguf);  // errors name the GGUF key

}  // namespace webaccel
