#include "wasm/package_buffer.h"

#include "core/error.h"
#include "format/package.h"

namespace webaccel::wasm {

PackageBuffer::PackageBuffer(FileBuffer& manifest) {
  guarded([&] {
    manifest_file_.emplace(manifest.take());
    const auto bytes = manifest_file_->bytes();
    try {
      manifest_ = nlohmann::json::parse(bytes.begin(), bytes.end());
      shards_.resize(manifest_.at("shards").size());
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::kFormat, manifest_file_->path() + ": not a package manifest: " + e.what());
    }
    return 0;
  });
}

std::string PackageBuffer::add_shard(int index, FileBuffer& shard) {
  return guarded([&] {
    if (index < 0 || static_cast<size_t>(index) >= shards_.size()) fail(ErrorKind::kInternal, "shard index out of range");
    std::string problem;
    try {
      problem = package_shard_problem(manifest_, static_cast<size_t>(index), shard.file().bytes());
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::kFormat, manifest_file_->path() + ": missing or mistyped field: " + e.what());
    }
    if (!problem.empty()) return shard.file().path() + ": " + problem;
    shards_[static_cast<size_t>(index)].emplace(shard.take());
    return std::string();
  });
}

std::shared_ptr<const GgufFile> PackageBuffer::open_model() {
  if (!manifest_file_) fail(ErrorKind::kInternal, "package already handed to a model");
  std::vector<MappedFile> shards;
  for (auto& s : shards_) {
    if (!s) fail(ErrorKind::kInternal, manifest_file_->path() + ": a shard was never added");
    shards.push_back(std::move(*s));
  }
  std::string dir = manifest_file_->path();
  dir.erase(dir.rfind('/') + 1);
  auto file = std::make_shared<const PackageFile>(dir, std::move(*manifest_file_), std::move(shards));
  manifest_file_.reset();
  return file;
}

}  // namespace webaccel::wasm
