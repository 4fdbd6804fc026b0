#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "core/error.h"

namespace webaccel {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::kIo, path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorKind::kIo, path + ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) {
    ::close(fd);
    fail(ErrorKind::kIo, path + ": file is empty");
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) fail(ErrorKind::kIo, path + ": mmap failed: " + std::strerror(errno));
  data_ = static_cast<const uint8_t*>(p);
}

// Aligned so tensor offsets keep the alignment the file format promises (GGUF: 32 bytes).
constexpr std::align_val_t kBufferAlignment{64};

MappedFile::MappedFile(std::string name, size_t size) : path_(std::move(name)), size_(size), owned_(true) {
  if (size_ == 0) fail(ErrorKind::kIo, path_ + ": file is empty");
  auto* p = static_cast<uint8_t*>(::operator new(size_, kBufferAlignment, std::nothrow));
  if (!p) fail(ErrorKind::kIo, path_ + ": cannot allocate " + std::to_string(size_) + " bytes");
  std::memset(p, 0, size_);
  data_ = p;
}

std::span<uint8_t> MappedFile::writable_bytes() {
  if (!owned_) fail(ErrorKind::kInternal, path_ + ": a memory-mapped file is read-only");
  return {const_cast<uint8_t*>(data_), size_};
}

MappedFile::~MappedFile() { release(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      owned_(std::exchange(other.owned_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    owned_ = std::exchange(other.owned_, false);
  }
  return *this;
}

void MappedFile::release() {
  if (data_ && owned_) ::operator delete(const_cast<uint8_t*>(data_), kBufferAlignment);
  else if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  owned_ = false;
}

}  // namespace webaccel
