// Test-only: reads the tokenizer keys of a GGUF v2/v3 header into a BpeVocab, so tokenizer tests
// do not depend on the real GGUF reader (src/format/). Tensors are never read.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tokenizer/bpe_tokenizer.h"

namespace webaccel::testing {

// Where test models live: $WEBACCEL_MODELS_DIR, else "models" (relative to the repo root).
inline std::string models_dir() {
  const char* dir = std::getenv("WEBACCEL_MODELS_DIR");
  return dir && *dir ? dir : "models";
}

class GgufVocabReader {
 public:
  explicit GgufVocabReader(const std::string& path) : in_(path, std::ios::binary), path_(path) {
    if (!in_) throw std::runtime_error(path + ": cannot open");
  }

  tok::BpeVocab read() {
    if (read_bytes(4) != "GGUF") throw std::runtime_error(path_ + ": not a GGUF file");
    const uint32_t version = read_pod<uint32_t>();
    if (version < 2) throw std::runtime_error(path_ + ": GGUF version " + std::to_string(version) + " unsupported");
    read_pod<uint64_t>();  // tensor count
    const uint64_t kv_count = read_pod<uint64_t>();
    tok::BpeVocab vocab;
    for (uint64_t i = 0; i < kv_count; ++i) {
      const std::string key = read_string();
      const uint32_t type = read_pod<uint32_t>();
      if (key == "tokenizer.ggml.tokens") {
        read_string_array(type, key, vocab.tokens);
      } else if (key == "tokenizer.ggml.merges") {
        read_string_array(type, key, vocab.merges);
      } else if (key == "tokenizer.ggml.token_type") {
        expect(type == kArray && read_pod<uint32_t>() == kI32, key);
        vocab.token_types.resize(read_pod<uint64_t>());
        for (auto& t : vocab.token_types) t = read_pod<int32_t>();
      } else if (key == "tokenizer.ggml.pre") {
        expect(type == kString, key);
        vocab.pre = read_string();
      } else if (key == "tokenizer.ggml.bos_token_id") {
        vocab.bos_id = read_id(type, key);
      } else if (key == "tokenizer.ggml.eos_token_id") {
        vocab.eos_id = read_id(type, key);
      } else if (key == "tokenizer.ggml.unknown_token_id") {
        vocab.unk_id = read_id(type, key);
      } else if (key == "tokenizer.ggml.padding_token_id") {
        vocab.pad_id = read_id(type, key);
      } else if (key == "tokenizer.ggml.add_bos_token") {
        expect(type == kBool, key);
        vocab.add_bos = read_pod<uint8_t>() != 0;
      } else {
        skip_value(type);
      }
    }
    return vocab;
  }

 private:
  enum : uint32_t { kU8, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };

  template <typename T>
  T read_pod() {
    T v{};
    in_.read(reinterpret_cast<char*>(&v), sizeof v);
    if (!in_) throw std::runtime_error(path_ + ": truncated header");
    return v;
  }
  std::string read_bytes(uint64_t n) {
    if (n > (1u << 30)) throw std::runtime_error(path_ + ": string length " + std::to_string(n) + " is implausible");
    std::string s(n, '\0');
    in_.read(s.data(), static_cast<std::streamsize>(n));
    if (!in_) throw std::runtime_error(path_ + ": truncated header");
    return s;
  }
  std::string read_string() { return read_bytes(read_pod<uint64_t>()); }
  void expect(bool ok, const std::string& key) {
    if (!ok) throw std::runtime_error(path_ + ": key '" + key + "' has an unexpected type");
  }
  int32_t read_id(uint32_t type, const std::string& key) {
    expect(type == kU32 || type == kI32, key);
    return static_cast<int32_t>(read_pod<uint32_t>());
  }
  void read_string_array(uint32_t type, const std::string& key, std::vector<std::string>& out) {
    expect(type == kArray && read_pod<uint32_t>() == kString, key);
    out.resize(read_pod<uint64_t>());
    for (auto& s : out) s = read_string();
  }
  static uint64_t scalar_size(uint32_t type) {
    switch (type) {
      case kU8: case kI8: case kBool: return 1;
      case kU16: case kI16: return 2;
      case kU32: case kI32: case kF32: return 4;
      case kU64: case kI64: case kF64: return 8;
      default: return 0;
    }
  }
  void skip_value(uint32_t type) {
    if (type == kString) {
      in_.seekg(static_cast<std::streamoff>(read_pod<uint64_t>()), std::ios::cur);
    } else if (type == kArray) {
      const uint32_t elem = read_pod<uint32_t>();
      const uint64_t count = read_pod<uint64_t>();
      for (uint64_t k = 0; k < count; ++k) skip_value(elem);
    } else if (uint64_t size = scalar_size(type)) {
      in_.seekg(static_cast<std::streamoff>(size), std::ios::cur);
    } else {
      throw std::runtime_error(path_ + ": unknown value type " + std::to_string(type));
    }
  }

  std::ifstream in_;
  std::string path_;
};

}  // namespace webaccel::testing
