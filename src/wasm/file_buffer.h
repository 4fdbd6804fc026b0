// What the JS hosts hand a model: the bytes of a file written straight into wasm memory, or a
// whole package (package_buffer.h). Both open as the GGUF view every model reads.
#pragma once

#include <emscripten/val.h>

#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/mapped_file.h"
#include "format/gguf.h"
#include "wasm/guarded.h"

namespace webaccel::wasm {

// A model file or package filled by JS; the Llama binding takes either.
class ModelSource {
 public:
  virtual ~ModelSource() = default;
  virtual std::shared_ptr<const GgufFile> open_model() = 0;
};

// One file's bytes, written by JS straight into wasm memory (no second copy) before a model takes them.
class FileBuffer : public ModelSource {
 public:
  FileBuffer(const std::string& name, double size)
      : file_(guarded([&] {
          if (!(size >= 1 && size <= 4294967295.0)) fail(ErrorKind::kIo, name + ": size " + std::to_string(size) + " is not loadable");
          return std::optional<MappedFile>(std::in_place, name, static_cast<size_t>(size));
        })) {}
  // Copies a Uint8Array into the buffer at offset; an overrun is an error naming the file.
  void write(double offset, const emscripten::val& chunk) {
    guarded([&] {
      if (!file_) fail(ErrorKind::kInternal, "file buffer already handed to a model");
      const auto length = chunk["length"].as<double>();
      auto bytes = file_->writable_bytes();
      if (offset < 0 || offset + length > static_cast<double>(bytes.size())) {
        fail(ErrorKind::kIo, file_->path() + ": more bytes than the announced size " + std::to_string(bytes.size()));
      }
      emscripten::val(emscripten::typed_memory_view(static_cast<size_t>(length), bytes.data() + static_cast<size_t>(offset)))
          .call<void>("set", chunk);
      return 0;
    });
  }
  const MappedFile& file() const {
    if (!file_) fail(ErrorKind::kInternal, "file buffer already handed to a model");
    return *file_;
  }
  MappedFile take() {
    if (!file_) fail(ErrorKind::kInternal, "file buffer already handed to a model");
    MappedFile f = std::move(*file_);
    file_.reset();
    return f;
  }
  std::shared_ptr<const GgufFile> open_model() override { return std::make_shared<const GgufFile>(take()); }

 private:
  std::optional<MappedFile> file_;
};

}  // namespace webaccel::wasm
