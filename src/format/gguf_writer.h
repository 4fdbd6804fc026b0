// GGUF v3 writer: metadata with their stored types, tensor infos and aligned tensor data, written
// to FILE.partial and renamed to FILE once complete, so a failure never leaves a file that looks whole.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/gguf.h"

namespace webaccel {

struct GgufWriteEntry {
  std::string key;
  GgufValueType type;  // scalars are written in exactly this type; arrays keep their element type
  GgufValue value;     // string views and array bytes must outlive write_gguf
};

struct GgufWriteTensor {
  std::string name;
  std::vector<uint64_t> shape;  // GGUF order: shape[0] is the contiguous (row) dimension
  GgmlType type;
  // Appends the tensor's bytes to the buffer when its turn comes (one tensor in memory at a time).
  std::function<void(std::vector<uint8_t>& out)> bytes;
};

// Entries and tensors are written in the order given; every tensor starts at a multiple of
// alignment (a power of two; other than 32 it must also appear as general.alignment). Throws
// Error(kIo) naming path, Error(kInternal) when a tensor's bytes do not match its shape and type.
void write_gguf(const std::string& path, const std::vector<GgufWriteEntry>& metadata,
                const std::vector<GgufWriteTensor>& tensors, uint64_t alignment);

}  // namespace webaccel
