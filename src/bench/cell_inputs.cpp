#include "bench/cell_inputs.h"

#include "core/error.h"
#include "format/package.h"
#include "models/bert.h"
#include "models/llama_vocab.h"

namespace webaccel::bench {
namespace {

// Real prose, so tokenizers produce realistic token ids; repeated as needed to reach a length.
constexpr const char* kText =
    "The history of the printing press begins in the fifteenth century, when movable metal type, oil-based "
    "inks and a wooden press came together. Within decades printing shops spread across Europe, books became "
    "cheaper, literacy rose and ideas travelled faster than ever before. Today the web plays a similar role, "
    "and running machine learning models in the browser moves computation closer to the people who use it. ";

std::string prose(int tokens) {
  std::string text;
  while (text.size() < static_cast<size_t>(tokens) * 8) text += kText;
  return text;
}

std::string no_round_trip(const std::string& model_path, int n, size_t got) {
  return model_path + ": the text for a " + std::to_string(n) + "-token input encodes back to " + std::to_string(got) +
         " different tokens, so a host that takes text would not see the same input";
}

}  // namespace

CellInput llama_prompt(const tok::BpeTokenizer& tokenizer, int n, const std::string& model_path) {
  const bool bos = tokenizer.add_bos_default();
  const auto source = tokenizer.encode(prose(n), bos, false);
  if (source.empty()) fail(ErrorKind::kInternal, model_path + ": tokenizer returned no tokens");
  CellInput in;
  while (in.ids.size() < static_cast<size_t>(n)) in.ids.insert(in.ids.end(), source.begin(), source.end());
  in.ids.resize(static_cast<size_t>(n));
  const size_t skip = bos && !in.ids.empty() && in.ids[0] == tokenizer.bos_id() ? 1 : 0;
  in.text = tokenizer.decode(std::span<const int32_t>(in.ids).subspan(skip));
  const auto back = tokenizer.encode(in.text, bos, true);
  if (back != in.ids) in.text_problem = no_round_trip(model_path, n, back.size());
  return in;
}

CellInput bert_sentence(const tok::WordPieceTokenizer& tokenizer, int n, const std::string& model_path) {
  CellInput in;
  // encode() adds [CLS] and [SEP] and truncates to the length asked for.
  in.ids = tokenizer.encode(prose(n), static_cast<size_t>(n));
  if (in.ids.size() != static_cast<size_t>(n)) {
    fail(ErrorKind::kInternal, model_path + ": tokenizer gave " + std::to_string(in.ids.size()) + " tokens for " + std::to_string(n));
  }
  in.text = tokenizer.decode(in.ids);
  const auto back = tokenizer.encode(in.text, static_cast<size_t>(n) + 64);
  if (back != in.ids) in.text_problem = no_round_trip(model_path, n, back.size());
  return in;
}

CellInput cell_input(const std::string& arch, const std::string& weights_path, int n) {
  if (arch == "llama") {
    const auto file = open_model_file(weights_path);
    return llama_prompt(tok::BpeTokenizer(bpe_vocab_from_gguf(*file)), n, weights_path);
  }
  const BertModel model(weights_path);
  return bert_sentence(model.tokenizer(), n, weights_path);
}

}  // namespace webaccel::bench
