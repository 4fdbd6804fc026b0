#include "format/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/fp16.h"

namespace webaccel {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors is little-endian; so must the host be");

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

enum class DtypeSupport { kSupported, kSkipped, kRejected };

struct DtypeInfo {
  uint64_t elem_bytes;
  DtypeSupport support;
  SafetensorsDtype dtype;  // meaningful only when supported
};

// Every dtype the safetensors spec names; nullopt for anything else.
std::optional<DtypeInfo> dtype_info(std::string_view name) {
  using D = SafetensorsDtype;
  using S = DtypeSupport;
  if (name == "F32") return DtypeInfo{4, S::kSupported, D::kF32};
  if (name == "F16") return DtypeInfo{2, S::kSupported, D::kF16};
  if (name == "BF16") return DtypeInfo{2, S::kSupported, D::kBF16};
  if (name == "BOOL" || name == "U8" || name == "I8") return DtypeInfo{1, S::kSkipped, D::kF32};
  if (name == "U16" || name == "I16") return DtypeInfo{2, S::kSkipped, D::kF32};
  if (name == "U32" || name == "I32") return DtypeInfo{4, S::kSkipped, D::kF32};
  if (name == "U64" || name == "I64") return DtypeInfo{8, S::kSkipped, D::kF32};
  if (name == "F64") return DtypeInfo{8, S::kRejected, D::kF32};
  if (name == "F8_E4M3" || name == "F8_E5M2") return DtypeInfo{1, S::kRejected, D::kF32};
  return std::nullopt;
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct Range {
  uint64_t begin, end;
  std::string name;
};

}  // namespace

std::string_view safetensors_dtype_name(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::kF32: return "F32";
    case SafetensorsDtype::kF16: return "F16";
    case SafetensorsDtype::kBF16: return "BF16";
  }
  return "unknown";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : SafetensorsFile(MappedFile(path)) {}

SafetensorsFile::SafetensorsFile(MappedFile file) : file_(std::move(file)) {
  const std::string& path = file_.path();
  const auto bytes = file_.bytes();
  auto bad = [&](const std::string& msg) { fail(ErrorKind::kFormat, path + ": " + msg); };

  if (bytes.size() < 8) bad("truncated: " + std::to_string(bytes.size()) + " bytes, too short for the 8-byte header length");
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > bytes.size() - 8) {
    bad("header length " + std::to_string(header_len) + " runs past the end of the file (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (header_len > kMaxHeaderBytes) bad("header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  const uint8_t* data_section = bytes.data() + 8 + header_len;
  const uint64_t data_size = bytes.size() - 8 - header_len;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.data() + 8, data_section);
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) bad("header is not a JSON object");

  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) bad("field '__metadata__' is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) bad("field '__metadata__': value of '" + key + "' is not a string");
        metadata_.emplace(key, value.get<std::string>());
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) bad(where + ": entry is not an object");

    const auto dtype_it = entry.find("dtype");
    if (dtype_it == entry.end() || !dtype_it->is_string()) bad(where + ": field 'dtype' is missing or not a string");
    const std::string dtype_name = dtype_it->get<std::string>();
    const auto info = dtype_info(dtype_name);
    if (!info) bad(where + ": unknown dtype '" + dtype_name + "'");
    if (info->support == DtypeSupport::kRejected) {
      bad(where + ": dtype " + dtype_name + " is not supported (F32, F16, BF16 only)");
    }

    const auto shape_it = entry.find("shape");
    if (shape_it == entry.end() || !shape_it->is_array()) bad(where + ": field 'shape' is missing or not an array");
    std::vector<uint64_t> shape;
    uint64_t n_elements = 1;
    for (const auto& dim : *shape_it) {
      if (!dim.is_number_unsigned()) bad(where + ": field 'shape' holds " + dim.dump() + ", not a non-negative integer");
      const uint64_t d = dim.get<uint64_t>();
      if (d != 0 && n_elements > std::numeric_limits<uint64_t>::max() / d) bad(where + ": field 'shape': element count overflows");
      n_elements *= d;
      shape.push_back(d);
    }
    if (n_elements > std::numeric_limits<uint64_t>::max() / info->elem_bytes) bad(where + ": field 'shape': byte size overflows");
    const uint64_t n_bytes = n_elements * info->elem_bytes;

    const auto offsets_it = entry.find("data_offsets");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
        !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
      bad(where + ": field 'data_offsets' is missing or not [begin, end]");
    }
    const uint64_t begin = (*offsets_it)[0].get<uint64_t>();
    const uint64_t end = (*offsets_it)[1].get<uint64_t>();
    const std::string offsets = "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end) bad(where + ": field 'data_offsets' " + offsets + " ends before it begins");
    if (end > data_size) {
      bad(where + ": field 'data_offsets' " + offsets + " runs past the end of the data section (" +
          std::to_string(data_size) + " bytes)");
    }
    if (end - begin != n_bytes) {
      bad(where + ": shape " + shape_string(shape) + " of " + dtype_name + " needs " + std::to_string(n_bytes) +
          " bytes but field 'data_offsets' " + offsets + " spans " + std::to_string(end - begin));
    }
    ranges.push_back({begin, end, name});

    if (info->support == DtypeSupport::kSkipped) {
      skipped_.emplace(name, dtype_name);
      continue;
    }
    tensors_.push_back({name, info->dtype, std::move(shape), data_section + begin, n_bytes, n_elements});
  }

  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  const Range* furthest = nullptr;  // the range seen so far that reaches furthest
  for (const auto& r : ranges) {
    if (r.begin == r.end) continue;
    if (furthest && r.begin < furthest->end) {
      bad("tensor '" + r.name + "': field 'data_offsets' [" + std::to_string(r.begin) + ", " + std::to_string(r.end) +
          "] overlaps tensor '" + furthest->name + "' [" + std::to_string(furthest->begin) + ", " +
          std::to_string(furthest->end) + "]");
    }
    if (!furthest || r.end > furthest->end) furthest = &r;
  }

  std::sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) { return a.data < b.data; });
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorsTensor& SafetensorsFile::tensor(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  if (const auto it = skipped_.find(name); it != skipped_.end()) {
    fail(ErrorKind::kFormat, path() + ": tensor '" + std::string(name) + "' has dtype " + it->second +
                                 ", which is not supported (F32, F16, BF16 only)");
  }
  fail(ErrorKind::kFormat, path() + ": tensor '" + std::string(name) + "' is missing");
}

std::vector<float> SafetensorsFile::to_f32(const SafetensorsTensor& t) const {
  std::vector<float> out(t.n_elements);
  if (out.empty()) return out;
  switch (t.dtype) {
    case SafetensorsDtype::kF32:
      std::memcpy(out.data(), t.data, t.n_bytes);
      break;
    case SafetensorsDtype::kF16:
    case SafetensorsDtype::kBF16:
      for (uint64_t i = 0; i < t.n_elements; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = t.dtype == SafetensorsDtype::kF16 ? half_to_float(h) : bf16_to_float(h);
      }
      break;
  }
  return out;
}

}  // namespace webaccel
