// Read-only memory map of a whole file: weights are used in place, never copied.
// A browser host has no files: it fills an owned in-memory buffer instead (same readers after).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace webaccel {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws Error(kIo) naming the path
  // An owned, 64-byte aligned buffer of `size` zero bytes named `name` (e.g. a URL), for the
  // caller to fill through writable_bytes() before any reader parses it.
  MappedFile(std::string name, size_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  std::span<uint8_t> writable_bytes();  // in-memory buffers only; Error(kInternal) for a mapping
  const std::string& path() const { return path_; }

 private:
  void release();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool owned_ = false;  // true: data_ came from aligned operator new, not mmap
};

}  // namespace webaccel
