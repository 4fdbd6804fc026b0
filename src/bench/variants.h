// Precisions a cell can be measured at: the model file as stored, or a WQ variant (2/3/4/8-bit,
// group-wise) made by the project's quantizer, cached as a package, with its quality measured.
#pragma once

#include <string>

#include "bench/measurement.h"
#include "bench/models.h"

namespace webaccel::bench {

struct PrecisionRequest {
  std::string name;  // "stored", the stored type's name, or "wq<bits>[_g<group>]"
  int bits = 0;      // 0 for stored
  int group = 64;
};

// Error(kUsage) naming the precision and the model when it cannot be made.
PrecisionRequest parse_precision(const std::string& name, const ModelSpec& model, const PrecisionInfo& stored);

struct Variant {
  std::string path;  // the GGUF, or the package folder holding the quantized weights
  PrecisionInfo info;
  std::optional<QualityResult> quality;  // filled by measure_quality for quantized variants
};

// The stored file, or its package quantized into package_dir (reused when already there).
Variant prepare_variant(const ModelSpec& model, const PrecisionRequest& p, const std::string& package_dir, int threads);

// Perplexity of the variant and of the stored model on a held-out text, with KLD and top-1.
void measure_quality(const ModelSpec& model, Variant& v, const std::string& eval_text_path, size_t windows, int threads);

// The default held-out text: the part of Debian's GPL-3 text that bench/quant/make_texts.py
// keeps for evaluation (the first quarter is calibration).
std::string default_eval_text_path();

}  // namespace webaccel::bench
