// A webaccel package fetched by a JS host: the manifest first, then each shard checked against it
// as it arrives (so the host can fetch a bad one again, or say which tensor is corrupted), then
// the native package reader over the shards in memory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "wasm/file_buffer.h"

namespace webaccel::wasm {

class PackageBuffer : public ModelSource {
 public:
  explicit PackageBuffer(FileBuffer& manifest);  // named by the manifest's URL
  // "" when the bytes are shard `index` (the buffer is taken), else why not, naming the shard (the buffer is left).
  std::string add_shard(int index, FileBuffer& shard);
  std::shared_ptr<const GgufFile> open_model() override;  // every shard added

 private:
  std::optional<MappedFile> manifest_file_;
  nlohmann::json manifest_;
  std::vector<std::optional<MappedFile>> shards_;
};

}  // namespace webaccel::wasm
