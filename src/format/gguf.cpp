#include "format/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "core/error.h"

namespace webaccel {
namespace {

constexpr uint64_t kMaxDims = 4;
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;

// Bounds-checked cursor over the header; every read names what it was reading.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string_view read_string(const char* what) {
    const auto len = read<uint64_t>(what);
    if (len > kMaxStringBytes) bad(std::string(what) + ": string length " + std::to_string(len) + " is implausible");
    need(len, what);
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return s;
  }

  std::span<const uint8_t> take(uint64_t n, const char* what) {
    need(n, what);
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  [[noreturn]] void bad(const std::string& msg) const {
    fail(ErrorKind::kFormat, path_ + ": " + msg + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > remaining()) {
      fail(ErrorKind::kFormat, path_ + ": truncated while reading " + what + " (needs " + std::to_string(n) +
                                   " bytes at offset " + std::to_string(pos_) + ", file has " +
                                   std::to_string(bytes_.size()) + ")");
    }
  }
  std::span<const uint8_t> bytes_;
  const std::string& path_;
  uint64_t pos_ = 0;
};

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kBool: return 1;
    case GgufValueType::kU16: case GgufValueType::kI16: return 2;
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kF32: return 4;
    case GgufValueType::kU64: case GgufValueType::kI64: case GgufValueType::kF64: return 8;
    default: return 0;
  }
}

GgufValue read_scalar(Cursor& c, GgufValueType t, const char* what) {
  switch (t) {
    case GgufValueType::kU8: return uint64_t{c.read<uint8_t>(what)};
    case GgufValueType::kI8: return int64_t{c.read<int8_t>(what)};
    case GgufValueType::kU16: return uint64_t{c.read<uint16_t>(what)};
    case GgufValueType::kI16: return int64_t{c.read<int16_t>(what)};
    case GgufValueType::kU32: return uint64_t{c.read<uint32_t>(what)};
    case GgufValueType::kI32: return int64_t{c.read<int32_t>(what)};
    case GgufValueType::kF32: return double{c.read<float>(what)};
    case GgufValueType::kBool: {
      const auto b = c.read<uint8_t>(what);
      if (b > 1) c.bad(std::string(what) + ": bool value " + std::to_string(b) + " is neither 0 nor 1");
      return b == 1;
    }
    case GgufValueType::kU64: return c.read<uint64_t>(what);
    case GgufValueType::kI64: return c.read<int64_t>(what);
    case GgufValueType::kF64: return c.read<double>(what);
    case GgufValueType::kString: return c.read_string(what);
    default: c.bad(std::string(what) + ": unknown value type " + std::to_string(static_cast<uint32_t>(t)));
  }
}

GgufValue read_value(Cursor& c, const std::string& key, GgufValueType& type) {
  const auto type_id = c.read<uint32_t>("metadata value type");
  if (type_id > static_cast<uint32_t>(GgufValueType::kF64)) {
    c.bad("metadata key '" + key + "': unknown value type " + std::to_string(type_id));
  }
  type = static_cast<GgufValueType>(type_id);
  const std::string what = "metadata key '" + key + "'";
  if (type != GgufValueType::kArray) return read_scalar(c, type, what.c_str());

  GgufArray arr;
  const auto elem_id = c.read<uint32_t>("array element type");
  if (elem_id > static_cast<uint32_t>(GgufValueType::kF64) || elem_id == static_cast<uint32_t>(GgufValueType::kArray)) {
    c.bad(what + ": unsupported array element type " + std::to_string(elem_id));
  }
  arr.elem_type = static_cast<GgufValueType>(elem_id);
  arr.count = c.read<uint64_t>("array length");
  if (arr.elem_type == GgufValueType::kString) {
    // Each string needs at least its 8-byte length: rejects absurd counts before allocating.
    if (arr.count > c.remaining() / 8) c.bad(what + ": array of " + std::to_string(arr.count) + " strings exceeds the file");
    arr.strings.reserve(std::min<uint64_t>(arr.count, 65536));  // grows as strings prove real
    for (uint64_t i = 0; i < arr.count; ++i) arr.strings.push_back(c.read_string(what.c_str()));
  } else {
    const size_t es = scalar_size(arr.elem_type);
    if (arr.count > c.remaining() / es) c.bad(what + ": array of " + std::to_string(arr.count) + " elements exceeds the file");
    arr.raw = c.take(arr.count * es, what.c_str());
  }
  return arr;
}

template <typename T>
T load_at(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : GgufFile(MappedFile(path)) {}

GgufFile::GgufFile(MappedFile file) : file_(std::move(file)) {
  const std::string& path = file_.path();
  Cursor c(file_.bytes(), path);
  const auto magic = c.read<uint32_t>("magic");
  if (magic != 0x46554747u) c.bad("not a GGUF file (magic is not 'GGUF')");
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) c.bad("unsupported GGUF version " + std::to_string(version_));
  const auto n_tensors = c.read<uint64_t>("tensor count");
  const auto n_kv = c.read<uint64_t>("metadata count");
  // Every kv needs >= 12 bytes and every tensor info >= 24: reject counts the file cannot hold.
  if (n_kv > c.remaining() / 12) c.bad("metadata count " + std::to_string(n_kv) + " exceeds the file");
  if (n_tensors > c.remaining() / 24) c.bad("tensor count " + std::to_string(n_tensors) + " exceeds the file");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key(c.read_string("metadata key"));
    if (key.empty()) c.bad("metadata key #" + std::to_string(i) + " is empty");
    GgufValueType type;
    auto v = read_value(c, key, type);
    if (!metadata_.emplace(key, std::move(v)).second) c.bad("metadata key '" + key + "' appears twice");
    value_types_.emplace(key, type);
  }
  if (auto a = find_uint("general.alignment")) {
    if (*a == 0 || (*a & (*a - 1)) != 0 || *a > 65536) c.bad("general.alignment " + std::to_string(*a) + " is not a power of two");
    alignment_ = *a;
  }

  tensors_.reserve(std::min<uint64_t>(n_tensors, 65536));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = std::string(c.read_string("tensor name"));
    const std::string where = "tensor '" + t.name + "'";
    if (t.name.empty()) c.bad("tensor #" + std::to_string(i) + " has an empty name");
    const auto n_dims = c.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) c.bad(where + ": " + std::to_string(n_dims) + " dimensions (1..4 allowed)");
    t.n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const auto dim = c.read<uint64_t>("tensor dimension");
      if (dim == 0) c.bad(where + ": dimension " + std::to_string(d) + " is zero");
      if (t.n_elements > std::numeric_limits<uint64_t>::max() / dim) c.bad(where + ": element count overflows");
      t.n_elements *= dim;
      t.shape.push_back(dim);
    }
    const auto type_id = c.read<uint32_t>("tensor type");
    const auto traits = ggml_type_traits(type_id);
    if (!traits) c.bad(where + ": unknown tensor type " + std::to_string(type_id));
    t.type = static_cast<GgmlType>(type_id);
    if (t.shape[0] % traits->block_elems != 0) {
      c.bad(where + ": row length " + std::to_string(t.shape[0]) + " is not a multiple of the " +
            std::string(traits->name) + " block size " + std::to_string(traits->block_elems));
    }
    if (t.n_elements / traits->block_elems > std::numeric_limits<uint64_t>::max() / traits->block_bytes) {
      c.bad(where + ": byte size overflows");
    }
    t.n_bytes = t.n_elements / traits->block_elems * traits->block_bytes;
    t.offset = c.read<uint64_t>("tensor offset");
    if (t.offset % alignment_ != 0) c.bad(where + ": offset " + std::to_string(t.offset) + " is not aligned to " + std::to_string(alignment_));
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) c.bad(where + " appears twice");
    tensors_.push_back(std::move(t));
  }

  const uint64_t data_start = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t size = file_.bytes().size();
  for (auto& t : tensors_) {
    if (data_start > size || t.offset > size - data_start || t.n_bytes > size - data_start - t.offset) {
      fail(ErrorKind::kFormat, path + ": tensor '" + t.name + "' (" + std::to_string(t.n_bytes) + " bytes at data offset " +
                                   std::to_string(t.offset) + ") points past the end of the file (" + std::to_string(size) +
                                   " bytes; data section starts at " + std::to_string(data_start) + ")");
    }
    t.data = file_.bytes().data() + data_start + t.offset;
  }
}

void GgufFile::index_tensors() {
  tensor_index_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (!tensor_index_.emplace(tensors_[i].name, i).second) {
      fail(ErrorKind::kFormat, path() + ": tensor '" + tensors_[i].name + "' appears twice");
    }
  }
}

const GgufValue& GgufFile::value(std::string_view key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) fail(ErrorKind::kFormat, path() + ": metadata key '" + std::string(key) + "' is missing");
  return it->second;
}

GgufValueType GgufFile::value_type(std::string_view key) const {
  if (auto it = value_types_.find(key); it != value_types_.end()) return it->second;
  struct Widest {  // formats without stored types: the widest type of the value's kind
    GgufValueType operator()(uint64_t) const { return GgufValueType::kU64; }
    GgufValueType operator()(int64_t) const { return GgufValueType::kI64; }
    GgufValueType operator()(double) const { return GgufValueType::kF64; }
    GgufValueType operator()(bool) const { return GgufValueType::kBool; }
    GgufValueType operator()(std::string_view) const { return GgufValueType::kString; }
    GgufValueType operator()(const GgufArray&) const { return GgufValueType::kArray; }
  };
  return std::visit(Widest{}, value(key));
}

std::string GgufFile::get_string(std::string_view key) const {
  const auto* s = std::get_if<std::string_view>(&value(key));
  if (!s) fail(ErrorKind::kFormat, path() + ": metadata key '" + std::string(key) + "' is not a string");
  return std::string(*s);
}

uint64_t GgufFile::get_uint(std::string_view key) const {
  const auto& v = value(key);
  if (const auto* u = std::get_if<uint64_t>(&v)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v); i && *i >= 0) return static_cast<uint64_t>(*i);
  fail(ErrorKind::kFormat, path() + ": metadata key '" + std::string(key) + "' is not a non-negative integer");
}

double GgufFile::get_float(std::string_view key) const {
  const auto& v = value(key);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  fail(ErrorKind::kFormat, path() + ": metadata key '" + std::string(key) + "' is not a number");
}

bool GgufFile::get_bool(std::string_view key) const {
  const auto* b = std::get_if<bool>(&value(key));
  if (!b) fail(ErrorKind::kFormat, path() + ": metadata key '" + std::string(key) + "' is not a bool");
  return *b;
}

const GgufArray& GgufFile::get_array(std::string_view key) const {
  const auto* a = std::get_if<GgufArray>(&value(key));
  if (!a) fail(ErrorKind::kFormat, path() + ": metadata key '" + std::string(key) + "' is not an array");
  return *a;
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const auto& a = get_array(key);
  std::vector<int64_t> out;
  out.reserve(a.count);
  const uint8_t* p = a.raw.data();
  for (uint64_t i = 0; i < a.count; ++i) {
    switch (a.elem_type) {
      case GgufValueType::kI32: out.push_back(load_at<int32_t>(p + 4 * i)); break;
      case GgufValueType::kU32: out.push_back(load_at<uint32_t>(p + 4 * i)); break;
      case GgufValueType::kI64: out.push_back(load_at<int64_t>(p + 8 * i)); break;
      case GgufValueType::kU64: out.push_back(static_cast<int64_t>(load_at<uint64_t>(p + 8 * i))); break;
      case GgufValueType::kU8: out.push_back(p[i]); break;
      case GgufValueType::kI8: out.push_back(static_cast<int8_t>(p[i])); break;
      case GgufValueType::kI16: out.push_back(load_at<int16_t>(p + 2 * i)); break;
      case GgufValueType::kU16: out.push_back(load_at<uint16_t>(p + 2 * i)); break;
      default: fail(ErrorKind::kFormat, path() + ": metadata key '" + std::string(key) + "' is not an integer array");
    }
  }
  return out;
}

std::optional<uint64_t> GgufFile::find_uint(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_uint(key);
}
std::optional<double> GgufFile::find_float(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_float(key);
}
std::optional<bool> GgufFile::find_bool(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_bool(key);
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(std::string_view name) const {
  const auto* t = find_tensor(name);
  if (!t) fail(ErrorKind::kFormat, path() + ": tensor '" + std::string(name) + "' is missing");
  return *t;
}

std::string gguf_value_to_string(const GgufValue& v, size_t max_array_items) {
  struct Visitor {
    size_t max_items;
    std::string operator()(uint64_t x) const { return std::to_string(x); }
    std::string operator()(int64_t x) const { return std::to_string(x); }
    std::string operator()(double x) const { return std::to_string(x); }
    std::string operator()(bool x) const { return x ? "true" : "false"; }
    std::string operator()(std::string_view s) const {
      std::string out(s.substr(0, 120));
      for (auto& ch : out) if (ch == '\n') ch = ' ';
      return s.size() > 120 ? out + "..." : out;
    }
    std::string operator()(const GgufArray& a) const {
      std::string out = "[" + std::to_string(a.count) + " items";
      if (!a.strings.empty()) {
        out += ":";
        for (size_t i = 0; i < std::min<size_t>(a.strings.size(), max_items); ++i) out += " '" + std::string(a.strings[i]) + "'";
      }
      return out + "]";
    }
  };
  return std::visit(Visitor{max_array_items}, v);
}

}  // namespace webaccel
