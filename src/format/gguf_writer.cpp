#include "format/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace webaccel {
namespace {

class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes.insert(bytes.end(), b, b + sizeof(T));
  }
  void put_string(std::string_view s) {
    put(uint64_t{s.size()});
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) { bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0); }
  std::vector<uint8_t> bytes;
};

[[noreturn]] void wrong_kind(const std::string& key, GgufValueType type) {
  fail(ErrorKind::kInternal, "GGUF writer: metadata key '" + key + "' does not hold a value of type " +
                                 std::to_string(static_cast<uint32_t>(type)));
}

template <typename T>
T as_integer(const GgufWriteEntry& e) {
  if (const auto* u = std::get_if<uint64_t>(&e.value)) return static_cast<T>(*u);
  if (const auto* i = std::get_if<int64_t>(&e.value)) return static_cast<T>(*i);
  wrong_kind(e.key, e.type);
}

double as_float(const GgufWriteEntry& e) {
  if (const auto* d = std::get_if<double>(&e.value)) return *d;
  wrong_kind(e.key, e.type);
}

void put_value(ByteSink& s, const GgufWriteEntry& e) {
  s.put(static_cast<uint32_t>(e.type));
  switch (e.type) {
    case GgufValueType::kU8: return s.put(as_integer<uint8_t>(e));
    case GgufValueType::kI8: return s.put(as_integer<int8_t>(e));
    case GgufValueType::kU16: return s.put(as_integer<uint16_t>(e));
    case GgufValueType::kI16: return s.put(as_integer<int16_t>(e));
    case GgufValueType::kU32: return s.put(as_integer<uint32_t>(e));
    case GgufValueType::kI32: return s.put(as_integer<int32_t>(e));
    case GgufValueType::kU64: return s.put(as_integer<uint64_t>(e));
    case GgufValueType::kI64: return s.put(as_integer<int64_t>(e));
    case GgufValueType::kF32: return s.put(static_cast<float>(as_float(e)));  // read from F32: exact
    case GgufValueType::kF64: return s.put(as_float(e));
    case GgufValueType::kBool: {
      const auto* b = std::get_if<bool>(&e.value);
      if (!b) wrong_kind(e.key, e.type);
      return s.put(uint8_t{*b});
    }
    case GgufValueType::kString: {
      const auto* str = std::get_if<std::string_view>(&e.value);
      if (!str) wrong_kind(e.key, e.type);
      return s.put_string(*str);
    }
    case GgufValueType::kArray: {
      const auto* a = std::get_if<GgufArray>(&e.value);
      if (!a) wrong_kind(e.key, e.type);
      s.put(static_cast<uint32_t>(a->elem_type));
      s.put(a->count);
      if (a->elem_type == GgufValueType::kString) {
        for (auto str : a->strings) s.put_string(str);
      } else {
        s.bytes.insert(s.bytes.end(), a->raw.begin(), a->raw.end());
      }
      return;
    }
  }
  wrong_kind(e.key, e.type);
}

uint64_t tensor_bytes(const GgufWriteTensor& t) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(t.type));
  if (!traits) fail(ErrorKind::kInternal, "GGUF writer: tensor '" + t.name + "' has an unknown type");
  uint64_t n = 1;
  for (uint64_t d : t.shape) n *= d;
  return n / traits->block_elems * traits->block_bytes;
}

}  // namespace

void write_gguf(const std::string& path, const std::vector<GgufWriteEntry>& metadata,
                const std::vector<GgufWriteTensor>& tensors, uint64_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) fail(ErrorKind::kInternal, "GGUF writer: alignment is not a power of two");
  ByteSink header;
  header.put(uint32_t{0x46554747u});  // "GGUF"
  header.put(uint32_t{3});
  header.put(uint64_t{tensors.size()});
  header.put(uint64_t{metadata.size()});
  for (const auto& e : metadata) {
    header.put_string(e.key);
    put_value(header, e);
  }
  uint64_t offset = 0;  // within the data section
  for (const auto& t : tensors) {
    header.put_string(t.name);
    header.put(static_cast<uint32_t>(t.shape.size()));
    for (uint64_t d : t.shape) header.put(d);
    header.put(static_cast<uint32_t>(t.type));
    header.put(offset);
    offset = (offset + tensor_bytes(t) + alignment - 1) / alignment * alignment;
  }
  header.pad_to(alignment);

  const std::string partial = path + ".partial";
  auto give_up = [&](const std::string& why) {
    std::remove(partial.c_str());
    fail(ErrorKind::kIo, path + ": " + why);
  };
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorKind::kIo, path + ": cannot open " + partial + " for writing");
    out.write(reinterpret_cast<const char*>(header.bytes.data()), static_cast<std::streamsize>(header.bytes.size()));
    std::vector<uint8_t> data;
    for (size_t i = 0; i < tensors.size(); ++i) {
      data.clear();
      try {
        tensors[i].bytes(data);
      } catch (...) {
        std::remove(partial.c_str());
        throw;
      }
      if (data.size() != tensor_bytes(tensors[i])) {
        std::remove(partial.c_str());
        fail(ErrorKind::kInternal, "GGUF writer: tensor '" + tensors[i].name + "' produced " + std::to_string(data.size()) +
                                       " bytes, its shape and type need " + std::to_string(tensor_bytes(tensors[i])));
      }
      if (i + 1 < tensors.size()) data.resize((data.size() + alignment - 1) / alignment * alignment, 0);
      out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
      if (!out) give_up("write failed (disk full?)");
    }
    out.flush();
    if (!out) give_up("write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) give_up("cannot rename from " + partial + ": " + ec.message());
}

}  // namespace webaccel
