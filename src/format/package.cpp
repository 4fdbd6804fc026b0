#include "format/package.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/error.h"

namespace webaccel {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kTensorAlignment = 64;

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32: case GgufValueType::kU64: return "uint";
    case GgufValueType::kI8: case GgufValueType::kI16: case GgufValueType::kI32: case GgufValueType::kI64: return "int";
    case GgufValueType::kF32: case GgufValueType::kF64: return "float";
    case GgufValueType::kBool: return "bool";
    default: return "string";
  }
}

nlohmann::json metadata_to_json(const std::map<std::string, GgufValue, std::less<>>& metadata) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : metadata) {
    nlohmann::json v;
    if (const auto* u = std::get_if<uint64_t>(&value)) v = {{"type", "uint"}, {"value", *u}};
    else if (const auto* i = std::get_if<int64_t>(&value)) v = {{"type", "int"}, {"value", *i}};
    else if (const auto* d = std::get_if<double>(&value)) v = {{"type", "float"}, {"value", *d}};
    else if (const auto* b = std::get_if<bool>(&value)) v = {{"type", "bool"}, {"value", *b}};
    else if (const auto* s = std::get_if<std::string_view>(&value)) v = {{"type", "string"}, {"value", std::string(*s)}};
    else {
      const auto& a = std::get<GgufArray>(value);
      nlohmann::json items = nlohmann::json::array();
      if (a.elem_type == GgufValueType::kString) {
        for (auto sv : a.strings) items.push_back(std::string(sv));
      } else {
        const size_t es = a.count ? a.raw.size() / a.count : 0;
        for (uint64_t k = 0; k < a.count; ++k) {
          const uint8_t* p = a.raw.data() + k * es;
          switch (a.elem_type) {
            case GgufValueType::kF32: { float f; std::memcpy(&f, p, 4); items.push_back(f); break; }
            case GgufValueType::kF64: { double f; std::memcpy(&f, p, 8); items.push_back(f); break; }
            default: {
              int64_t x = 0;
              std::memcpy(&x, p, es);  // little-endian, zero-extended
              if (es < 8 && std::string(value_type_name(a.elem_type)) == "int" && (p[es - 1] & 0x80)) x -= int64_t{1} << (8 * es);
              items.push_back(x);
            }
          }
        }
      }
      v = {{"type", "array"}, {"elem", value_type_name(a.elem_type)}, {"value", items}};
    }
    out[key] = v;
  }
  return out;
}

}  // namespace

uint64_t checksum64(const uint8_t* data, size_t n) { return XXH3_64bits(data, n); }

bool is_package_dir(const std::string& path) { return fs::is_directory(path) && fs::exists(fs::path(path) / "manifest.json"); }

std::shared_ptr<const GgufFile> open_model_file(const std::string& path) {
  if (is_package_dir(path)) return std::make_shared<const PackageFile>(path);
  return std::make_shared<const GgufFile>(path);
}

std::string package_shard_problem(const nlohmann::json& manifest, size_t index, std::span<const uint8_t> bytes) {
  const auto& shard = manifest.at("shards").at(index);
  const auto size = shard.at("size").get<uint64_t>();
  if (bytes.size() != size) {
    return "shard is " + std::to_string(bytes.size()) + " bytes, the manifest says " + std::to_string(size) + " (truncated or replaced)";
  }
  if (shard.value("xxh3", "") == hex64(checksum64(bytes.data(), bytes.size()))) return "";
  for (const auto& t : manifest.at("tensors")) {
    if (t.at("shard").get<size_t>() != index) continue;
    const auto offset = t.at("offset").get<uint64_t>(), n = t.at("size").get<uint64_t>();
    if (offset > size || n > size - offset) return "tensor '" + t.at("name").get<std::string>() + "' lies past the end of the shard";
    if (hex64(checksum64(bytes.data() + offset, n)) != t.at("xxh3").get<std::string>()) {
      return "tensor '" + t.at("name").get<std::string>() + "' fails its checksum (shard corrupted)";
    }
  }
  return shard.contains("xxh3") ? "the shard fails its checksum outside its tensors (shard corrupted)" : "";
}

PackageFile::PackageFile(const std::string& dir)
    : PackageFile(dir, MappedFile((fs::path(dir) / "manifest.json").string()), nullptr) {}

PackageFile::PackageFile(std::string dir, MappedFile manifest, std::vector<MappedFile> shards)
    : PackageFile(std::move(dir), std::move(manifest), &shards) {}

PackageFile::PackageFile(std::string dir, MappedFile manifest, std::vector<MappedFile>* given_shards)
    : GgufFile(std::move(manifest), Unparsed{}), dir_(std::move(dir)) {
  const std::string mpath = path();
  auto bad = [&](const std::string& what) { fail(ErrorKind::kFormat, mpath + ": " + what); };
  try {
    const auto bytes = file_.bytes();
    manifest_ = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("invalid JSON: ") + e.what());
  }
  try {
    if (manifest_.value("format", "") != "webaccel-package") bad("'format' is not \"webaccel-package\"");
    if (manifest_.value("version", 0) != 1) bad("unsupported package 'version' (this build reads 1)");

    for (const auto& [key, v] : manifest_.at("metadata").items()) {
      const std::string type = v.at("type");
      GgufValue value;
      if (type == "uint") value = v.at("value").get<uint64_t>();
      else if (type == "int") value = v.at("value").get<int64_t>();
      else if (type == "float") value = v.at("value").get<double>();
      else if (type == "bool") value = v.at("value").get<bool>();
      else if (type == "string") value = std::string_view(owned_strings_.emplace_back(v.at("value").get<std::string>()));
      else if (type == "array") {
        GgufArray a;
        const std::string elem = v.at("elem");
        const auto& items = v.at("value");
        a.count = items.size();
        if (elem == "string") {
          a.elem_type = GgufValueType::kString;
          for (const auto& it : items) a.strings.push_back(owned_strings_.emplace_back(it.get<std::string>()));
        } else if (elem == "float") {
          a.elem_type = GgufValueType::kF32;
          auto& raw = owned_arrays_.emplace_back(items.size() * 4);
          for (size_t k = 0; k < items.size(); ++k) { const float f = items[k].get<float>(); std::memcpy(raw.data() + 4 * k, &f, 4); }
          a.raw = raw;
        } else {
          a.elem_type = GgufValueType::kI64;
          auto& raw = owned_arrays_.emplace_back(items.size() * 8);
          for (size_t k = 0; k < items.size(); ++k) { const int64_t x = items[k].get<int64_t>(); std::memcpy(raw.data() + 8 * k, &x, 8); }
          a.raw = raw;
        }
        value = std::move(a);
      } else {
        bad("metadata '" + key + "': unknown type '" + type + "'");
      }
      metadata_.emplace(key, std::move(value));
    }

    const auto& shard_list = manifest_.at("shards");
    if (given_shards && given_shards->size() != shard_list.size()) {
      bad("lists " + std::to_string(shard_list.size()) + " shards, " + std::to_string(given_shards->size()) + " were given");
    }
    for (const auto& s : shard_list) {
      const std::string file = s.at("file");
      if (file.find('/') != std::string::npos || file.find("..") != std::string::npos) bad("shard file name '" + file + "' is not a plain name");
      if (given_shards) {
        shards_.push_back(std::move((*given_shards)[shards_.size()]));
      } else {
        const std::string spath = (fs::path(dir_) / file).string();
        if (!fs::exists(spath)) fail(ErrorKind::kIo, spath + ": shard listed in the manifest is missing");
        shards_.emplace_back(spath);
      }
      if (shards_.back().bytes().size() != s.at("size").get<uint64_t>()) {
        fail(ErrorKind::kFormat, shards_.back().path() + ": shard is " + std::to_string(shards_.back().bytes().size()) +
                                     " bytes, manifest says " + std::to_string(s.at("size").get<uint64_t>()) + " (truncated or replaced)");
      }
    }

    for (const auto& t : manifest_.at("tensors")) {
      GgufTensorInfo info;
      info.name = t.at("name");
      const std::string where = "tensor '" + info.name + "'";
      info.shape = t.at("shape").get<std::vector<uint64_t>>();
      const auto traits = ggml_type_traits(t.at("type_id").get<uint32_t>());
      if (!traits) bad(where + ": unknown type_id " + std::to_string(t.at("type_id").get<uint32_t>()));
      info.type = static_cast<GgmlType>(t.at("type_id").get<uint32_t>());
      if (info.shape.empty() || info.shape.size() > 4) bad(where + ": shape must have 1..4 dimensions");
      info.n_elements = 1;
      for (auto d : info.shape) {
        if (d == 0 || info.n_elements > (uint64_t{1} << 40) / d) bad(where + ": shape is empty or too large");
        info.n_elements *= d;
      }
      if (info.shape[0] % traits->block_elems != 0) bad(where + ": row length is not a multiple of the " + std::string(traits->name) + " group");
      info.n_bytes = info.n_elements / traits->block_elems * traits->block_bytes;
      if (t.at("size").get<uint64_t>() != info.n_bytes) bad(where + ": size does not match its shape and type");
      const size_t shard = t.at("shard").get<size_t>();
      if (shard >= shards_.size()) bad(where + ": shard index " + std::to_string(shard) + " out of range");
      info.offset = t.at("offset").get<uint64_t>();
      const auto sb = shards_[shard].bytes();
      if (info.offset > sb.size() || info.n_bytes > sb.size() - info.offset) {
        bad(where + ": bytes [" + std::to_string(info.offset) + ", +" + std::to_string(info.n_bytes) + ") lie past the end of " +
            shards_[shard].path());
      }
      info.data = sb.data() + info.offset;
      const std::string want = t.at("xxh3");
      if (hex64(checksum64(info.data, info.n_bytes)) != want) {
        fail(ErrorKind::kFormat, shards_[shard].path() + ": " + where + " fails its checksum (shard corrupted)");
      }
      tensors_.push_back(std::move(info));
    }
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("missing or mistyped field: ") + e.what());
  }
  index_tensors();
}

namespace {
void write_package_files(const fs::path& tmp_dir, const std::map<std::string, GgufValue, std::less<>>& metadata,
                         const std::vector<PackageTensor>& tensors, const nlohmann::json& quantization,
                         uint64_t max_shard_bytes);
}  // namespace

void write_package(const std::string& dir, const std::map<std::string, GgufValue, std::less<>>& metadata,
                   const std::vector<PackageTensor>& tensors, const nlohmann::json& quantization, uint64_t max_shard_bytes) {
  const fs::path final_dir(dir), tmp_dir(dir + ".partial");
  std::error_code ec;
  try {
    write_package_files(tmp_dir, metadata, tensors, quantization, max_shard_bytes);
  } catch (...) {
    fs::remove_all(tmp_dir, ec);  // a failed write leaves nothing that could pass for a package
    throw;
  }
  fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) fail(ErrorKind::kIo, final_dir.string() + ": cannot move the finished package into place: " + ec.message());
}

namespace {
void write_package_files(const fs::path& tmp_dir, const std::map<std::string, GgufValue, std::less<>>& metadata,
                         const std::vector<PackageTensor>& tensors, const nlohmann::json& quantization,
                         uint64_t max_shard_bytes) {
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  if (!fs::create_directories(tmp_dir, ec) && ec) fail(ErrorKind::kIo, tmp_dir.string() + ": cannot create: " + ec.message());

  nlohmann::json manifest = {{"format", "webaccel-package"}, {"version", 1}};
  manifest["metadata"] = metadata_to_json(metadata);
  manifest["quantization"] = quantization;
  nlohmann::json shards = nlohmann::json::array(), table = nlohmann::json::array();

  std::ofstream out;
  std::string shard_name;
  uint64_t shard_size = 0;
  XXH3_state_t* state = XXH3_createState();
  auto close_shard = [&] {
    if (!out.is_open()) return;
    out.close();
    if (!out) fail(ErrorKind::kIo, (tmp_dir / shard_name).string() + ": write failed");
    shards.push_back({{"file", shard_name}, {"size", shard_size}, {"xxh3", hex64(XXH3_64bits_digest(state))}});
  };
  for (const auto& t : tensors) {
    const uint64_t padded = (shard_size + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    if (!out.is_open() || (padded + t.bytes.size() > max_shard_bytes && shard_size > 0)) {
      close_shard();
      char name[32];
      std::snprintf(name, sizeof name, "shard-%05zu.bin", shards.size());
      shard_name = name;
      out.open(tmp_dir / shard_name, std::ios::binary | std::ios::trunc);
      if (!out) fail(ErrorKind::kIo, (tmp_dir / shard_name).string() + ": cannot create");
      shard_size = 0;
      XXH3_64bits_reset(state);
    }
    const uint64_t offset = (shard_size + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    const std::string pad(offset - shard_size, '\0');
    out.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
    XXH3_64bits_update(state, pad.data(), pad.size());
    XXH3_64bits_update(state, t.bytes.data(), t.bytes.size());
    shard_size = offset + t.bytes.size();
    const auto wq = wq_params(t.type);
    table.push_back({{"name", t.name}, {"shape", t.shape}, {"type", std::string(ggml_type_name(t.type))},
                     {"type_id", static_cast<uint32_t>(t.type)}, {"bits", wq ? wq->bits : 0},
                     {"shard", shards.size()}, {"offset", offset}, {"size", t.bytes.size()},
                     {"xxh3", hex64(checksum64(t.bytes.data(), t.bytes.size()))},
                     {"component", t.component}, {"priority", t.priority}});
  }
  close_shard();
  XXH3_freeState(state);
  manifest["shards"] = shards;
  manifest["tensors"] = table;
  {
    std::ofstream m(tmp_dir / "manifest.json", std::ios::trunc);
    m << manifest.dump(1) << "\n";
    if (!m) fail(ErrorKind::kIo, (tmp_dir / "manifest.json").string() + ": write failed");
  }
}
}  // namespace

}  // namespace webaccel
