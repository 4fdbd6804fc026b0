// Test-only: builds GGUF v3 files in memory, valid by default, with knobs to break them on purpose.
// Layout: header, kvs in insertion order, tensor infos, padding to `alignment`, tensor data, each
// tensor padded to `alignment` except the last (so any truncation cuts into data).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "format/ggml_types.h"
#include "format/gguf.h"

namespace webaccel::testing {

class GgufTestWriter {
 public:
  uint32_t magic = 0x46554747u;  // "GGUF" read as little-endian u32
  uint32_t version = 3;
  uint64_t alignment = 32;  // layout alignment; add a "general.alignment" kv too if it is not 32

  template <typename T>
  void add_scalar(const std::string& key, GgufValueType type, T value) {
    begin_kv(key, static_cast<uint32_t>(type));
    put(kvs_, value);
  }
  void add_bool(const std::string& key, bool v) { add_scalar(key, GgufValueType::kBool, uint8_t{v}); }
  void add_string(const std::string& key, const std::string& v) {
    begin_kv(key, static_cast<uint32_t>(GgufValueType::kString));
    put_string(kvs_, v);
  }
  template <typename T>
  void add_array(const std::string& key, GgufValueType elem_type, const std::vector<T>& v) {
    begin_kv(key, static_cast<uint32_t>(GgufValueType::kArray));
    put(kvs_, static_cast<uint32_t>(elem_type));
    put(kvs_, uint64_t{v.size()});
    for (const T& x : v) put(kvs_, x);
  }
  void add_string_array(const std::string& key, const std::vector<std::string>& v) {
    begin_kv(key, static_cast<uint32_t>(GgufValueType::kArray));
    put(kvs_, static_cast<uint32_t>(GgufValueType::kString));
    put(kvs_, uint64_t{v.size()});
    for (const auto& s : v) put_string(kvs_, s);
  }
  // Any type id followed by any payload: for malformed values.
  void add_raw_kv(const std::string& key, uint32_t type_id, const std::vector<uint8_t>& payload) {
    begin_kv(key, type_id);
    kvs_.insert(kvs_.end(), payload.begin(), payload.end());
  }

  // shape in GGUF order (shape[0] contiguous); type_id may be any number; offset overrides the layout.
  void add_tensor(const std::string& name, std::vector<uint64_t> shape, uint32_t type_id, std::vector<uint8_t> data,
                  std::optional<uint64_t> offset = std::nullopt) {
    tensors_.push_back({name, std::move(shape), type_id, std::move(data), offset});
  }
  void add_tensor(const std::string& name, std::vector<uint64_t> shape, GgmlType type, std::vector<uint8_t> data) {
    add_tensor(name, std::move(shape), static_cast<uint32_t>(type), std::move(data));
  }

  // Offset of each tensor inside the data section, as build() lays them out.
  std::vector<uint64_t> data_offsets() const {
    std::vector<uint64_t> out;
    uint64_t pos = 0;
    for (const auto& t : tensors_) {
      out.push_back(t.offset.value_or(pos));
      pos = align(pos + t.data.size());
    }
    return out;
  }

  std::vector<uint8_t> build() const {
    std::vector<uint8_t> out;
    put(out, magic);
    put(out, version);
    put(out, uint64_t{tensors_.size()});
    put(out, n_kv_);
    out.insert(out.end(), kvs_.begin(), kvs_.end());
    const auto offsets = data_offsets();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      put_string(out, t.name);
      put(out, static_cast<uint32_t>(t.shape.size()));
      for (uint64_t d : t.shape) put(out, d);
      put(out, t.type_id);
      put(out, offsets[i]);
    }
    out.resize(align(out.size()), 0);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (i > 0) out.resize(align(out.size()), 0);
      out.insert(out.end(), tensors_[i].data.begin(), tensors_[i].data.end());
    }
    return out;
  }

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> shape;
    uint32_t type_id;
    std::vector<uint8_t> data;
    std::optional<uint64_t> offset;
  };

  template <typename T>
  static void put(std::vector<uint8_t>& out, T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  static void put_string(std::vector<uint8_t>& out, const std::string& s) {
    put(out, uint64_t{s.size()});
    out.insert(out.end(), s.begin(), s.end());
  }
  void begin_kv(const std::string& key, uint32_t type_id) {
    put_string(kvs_, key);
    put(kvs_, type_id);
    ++n_kv_;
  }
  uint64_t align(uint64_t n) const { return (n + alignment - 1) / alignment * alignment; }

  uint64_t n_kv_ = 0;
  std::vector<uint8_t> kvs_;
  std::vector<Tensor> tensors_;
};

// Tensor payloads with a recognisable byte pattern; quantized ones are whole blocks.
inline std::vector<uint8_t> gguf_f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}
inline std::vector<uint8_t> gguf_f16_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = float_to_half(v[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}
inline std::vector<uint8_t> gguf_pattern_bytes(uint64_t n_elements, GgmlType type, uint8_t seed) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  std::vector<uint8_t> out(n_elements / traits->block_elems * traits->block_bytes);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(seed + 7 * i);
  return out;
}

}  // namespace webaccel::testing
