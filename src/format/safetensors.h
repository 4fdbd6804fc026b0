// safetensors reader: memory-maps the file and validates the JSON header (dtypes, shapes, offsets)
// before anything reads tensor data.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON, then the data section.
// Each header entry is {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} with offsets
// relative to the data section; "__metadata__" is an optional string->string map.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace webaccel {

enum class SafetensorsDtype { kF32, kF16, kBF16 };

std::string_view safetensors_dtype_name(SafetensorsDtype dtype);

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype;
  std::vector<uint64_t> shape;  // row-major, shape.back() is contiguous; [] is a scalar
  const uint8_t* data;          // points into the mapped file; not necessarily aligned
  uint64_t n_bytes;
  uint64_t n_elements;
};

class SafetensorsFile {
 public:
  // Throws Error(kIo) if the file cannot be opened, Error(kFormat) naming the file and the tensor
  // or field for anything malformed. Integer and BOOL tensors (e.g. BERT's I64
  // "embeddings.position_ids" buffer) are validated but only recorded in skipped_tensors(): they
  // are an Error only when asked for. Any other dtype is an Error at load.
  explicit SafetensorsFile(const std::string& path);
  explicit SafetensorsFile(MappedFile file);  // the same checks over bytes already in memory

  const std::string& path() const { return file_.path(); }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // in data order
  const SafetensorsTensor* find(std::string_view name) const;  // nullptr if absent or skipped
  const SafetensorsTensor& tensor(std::string_view name) const;  // Error naming the tensor otherwise
  std::vector<float> to_f32(const SafetensorsTensor& t) const;   // a converted copy: for small tensors
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Tensors with a dtype this reader does not convert: name -> dtype as written in the file.
  const std::map<std::string, std::string, std::less<>>& skipped_tensors() const { return skipped_; }

 private:
  MappedFile file_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string, std::less<>> skipped_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace webaccel
