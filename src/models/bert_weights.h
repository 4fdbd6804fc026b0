// The tensors a BERT encoder reads, from either source it loads: a sentence-transformers
// model.safetensors (F32/F16/BF16) or a webaccel package (quantized WQ/WK matrices, f32 vectors).
// One view for both: row-major shapes and ggml types.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/ggml_types.h"
#include "format/gguf.h"
#include "format/safetensors.h"

namespace webaccel {

struct BertTensor {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> shape;  // row-major: shape.back() is contiguous (safetensors order)
  const uint8_t* data;          // mapped bytes; aligned only in packages
  uint64_t n_bytes;
  uint64_t n_elements;
};

class BertWeights {
 public:
  explicit BertWeights(MappedFile safetensors);            // Error(kFormat) naming the file and tensor
  explicit BertWeights(std::shared_ptr<const GgufFile> package);  // checksums already verified by PackageFile

  const std::string& path() const { return path_; }
  const std::vector<BertTensor>& tensors() const { return tensors_; }
  const BertTensor* find(std::string_view name) const;   // nullptr if absent
  const BertTensor& tensor(std::string_view name) const;  // Error naming the file and tensor otherwise
  std::vector<float> to_f32(const BertTensor& t) const;   // a converted copy (any stored type)

 private:
  std::unique_ptr<SafetensorsFile> safetensors_;
  std::shared_ptr<const GgufFile> package_;
  std::string path_;
  std::vector<BertTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace webaccel
