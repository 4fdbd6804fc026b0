// `webaccel quantize` for BERT encoders: a sentence-transformers folder (or a BERT package) -> a
// webaccel package whose manifest carries the config and WordPiece vocabulary (models/bert_metadata.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "quant/llama_quantizer.h"

namespace webaccel::quant {

// Writes out_dir atomically and returns the statistics (the same as `eval --bits` reports).
nlohmann::json quantize_bert_package(const std::string& in_dir, const std::string& out_dir, const QuantizeOptions& options,
                                     const std::vector<std::string>& calibration_sentences, ThreadPool& pool);

}  // namespace webaccel::quant
