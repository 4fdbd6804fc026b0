// webaccel packages: a folder with manifest.json (metadata, tensor table, shard list) and shard
// files of bounded size holding the tensor bytes. Shards are the unit of download and caching;
// every tensor carries an XXH3-64 checksum, verified at load.
//
//   manifest.json  {"format": "webaccel-package", "version": 1, "metadata": {...GGUF keys...},
//                   "shards": [{"file", "size", "xxh3"}],
//                   "tensors": [{"name", "shape", "type", "type_id", "bits", "shard", "offset", "size",
//                                "xxh3", "component", "priority"}], "quantization": {...}}
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/gguf.h"

namespace webaccel {

// A package presents the same metadata + tensor view as a GGUF file, so every model reads both.
class PackageFile : public GgufFile {
 public:
  explicit PackageFile(const std::string& dir);  // Error naming the manifest field, shard or tensor
  // The same checks over a manifest and its shards already in memory (a browser host), shards in
  // manifest order; dir names the package in messages.
  PackageFile(std::string dir, MappedFile manifest, std::vector<MappedFile> shards);
  const nlohmann::json& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_; }

 private:
  PackageFile(std::string dir, MappedFile manifest, std::vector<MappedFile>* given_shards);

  std::string dir_;
  nlohmann::json manifest_;
  std::vector<MappedFile> shards_;
  std::deque<std::string> owned_strings_;        // backing for string_views in metadata
  std::deque<std::vector<uint8_t>> owned_arrays_;  // backing for numeric arrays
};

struct PackageTensor {
  std::string name;
  std::vector<uint64_t> shape;  // GGUF order: shape[0] contiguous
  GgmlType type;
  std::vector<uint8_t> bytes;
  std::string component;        // progressive-loading unit: "embeddings", "layers.3", "head"
  int priority = 0;             // lower loads first
};

// Writes DIR atomically: everything goes to DIR.partial, renamed to DIR only when complete.
void write_package(const std::string& dir, const std::map<std::string, GgufValue, std::less<>>& metadata,
                   const std::vector<PackageTensor>& tensors, const nlohmann::json& quantization,
                   uint64_t max_shard_bytes = 32ull << 20);

uint64_t checksum64(const uint8_t* data, size_t n);  // XXH3-64
// Why `bytes` are not shard `index` of `manifest` (size, a tensor's checksum, the shard's), or ""
// when they are: a host that downloaded the shard can then fetch it again or name the bad tensor.
std::string package_shard_problem(const nlohmann::json& manifest, size_t index, std::span<const uint8_t> bytes);
bool is_package_dir(const std::string& path);

// Opens a GGUF file or a package folder.
std::shared_ptr<const GgufFile> open_model_file(const std::string& path);

}  // namespace webaccel
