// Quantizes a BERT encoder's matrices (uniform, mixed config or adaptive) and measures embedding
// quality against the unquantized model: mean cosine similarity. The matrices include the word,
// position and token-type embeddings; biases and norms stay as stored.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "format/package.h"
#include "models/bert.h"
#include "quant/llama_quantizer.h"

namespace webaccel::quant {

struct QuantizedBert {
  nlohmann::json stats;                // effective bpw, reduction vs fp16, bits per tensor, plan
  std::vector<PackageTensor> tensors;  // every tensor the model reads, in load order; matrices quantized
};

// Sensitivity (adaptive) = mean (1 - cosine) over calibration_sentences with one matrix at the
// probe format. options.calibration_text is unused here. The model is left as it was.
QuantizedBert quantize_bert(BertModel& model, const QuantizeOptions& options,
                            const std::vector<std::string>& calibration_sentences, ThreadPool& pool);

// quantize_bert, then points the model's matrices at the result (which must outlive the model's use).
QuantizedBert quantize_bert_in_memory(BertModel& model, const QuantizeOptions& options,
                                      const std::vector<std::string>& calibration_sentences, ThreadPool& pool);

double mean_cosine(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b);
std::vector<std::vector<float>> embed_all(const BertModel& model, const std::vector<std::string>& sentences, ThreadPool& pool);

}  // namespace webaccel::quant
