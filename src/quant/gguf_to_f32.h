// A quantized GGUF as an F32 GGUF: the same metadata (tokenizer included) and tensors in the same
// order, each dequantized to F32, so other engines can be compared with us in f32 arithmetic.
#pragma once

#include <cstdint>
#include <string>

#include "format/gguf.h"

namespace webaccel::quant {

struct F32ConversionStats {
  size_t tensors = 0;
  size_t dequantized = 0;  // tensors that were not F32 already
  uint64_t output_bytes = 0;
};

// general.file_type, when present, becomes 0 (all F32); every other key is copied with its type.
// Writes out_path.partial, then renames it. Errors name the input file and tensor, or the output.
F32ConversionStats convert_gguf_to_f32(const GgufFile& in, const std::string& out_path);

}  // namespace webaccel::quant
