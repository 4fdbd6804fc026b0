// GGUF v2/v3 reader: memory-maps the file and validates every offset, size, shape and dtype
// before anything reads tensor data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/mapped_file.h"
#include "format/ggml_types.h"

namespace webaccel {

enum class GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// An array value: strings are views into the mapped file; numbers stay raw until asked for.
struct GgufArray {
  GgufValueType elem_type;
  uint64_t count;
  std::span<const uint8_t> raw;            // numeric arrays: count * elem size bytes
  std::vector<std::string_view> strings;   // string arrays
};

using GgufValue = std::variant<uint64_t, int64_t, double, bool, std::string_view, GgufArray>;

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> shape;  // GGUF order: shape[0] is the contiguous (row) dimension
  GgmlType type;
  uint64_t offset;              // relative to the data section
  uint64_t n_elements;
  uint64_t n_bytes;
  const uint8_t* data;          // points into the mapped file
};

// Also the engine's view of any model file: a webaccel package (format/package.h) derives from it
// and fills the same metadata and tensor table from its manifest and shards.
class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // throws Error(kIo/kFormat) naming path, key or tensor
  explicit GgufFile(MappedFile file);          // the same checks over bytes already in memory

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t file_size() const { return file_.bytes().size(); }
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  bool has(std::string_view key) const { return metadata_.find(key) != metadata_.end(); }
  // The type a value is stored as (GgufValue keeps only its C++ kind; a writer needs the exact one).
  GgufValueType value_type(std::string_view key) const;
  // Typed getters: a missing key or wrong type is an Error naming the key.
  std::string get_string(std::string_view key) const;
  uint64_t get_uint(std::string_view key) const;
  double get_float(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const GgufArray& get_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;
  std::optional<uint64_t> find_uint(std::string_view key) const;
  std::optional<double> find_float(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;

  const GgufTensorInfo* find_tensor(std::string_view name) const;
  const GgufTensorInfo& tensor(std::string_view name) const;  // Error naming the tensor if absent

 protected:
  struct Unparsed {};
  GgufFile(MappedFile file, Unparsed) : file_(std::move(file)) {}  // for derived formats
  void index_tensors();  // rebuilds tensor_index_ from tensors_; Error on duplicates

 private:
  const GgufValue& value(std::string_view key) const;

 protected:
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::map<std::string, GgufValueType, std::less<>> value_types_;  // as read; empty for derived formats
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

std::string gguf_value_to_string(const GgufValue& v, size_t max_array_items = 8);

}  // namespace webaccel
