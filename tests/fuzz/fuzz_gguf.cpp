// libFuzzer target for the GGUF reader: any input is an Error or a file whose every tensor and
// metadata value can be read without leaving the map.
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//     tests/fuzz/fuzz_gguf.cpp src/format/gguf.cpp src/format/ggml_types.cpp src/core/mapped_file.cpp -o fuzz_gguf
//   ./fuzz_gguf /tmp/corpus_gguf tests/fuzz/corpus/gguf -max_total_time=120
// Seeds come from tests/fuzz/make_corpus.py; new units go to the first (scratch) directory.
#include <cstdint>
#include <variant>

#include "core/error.h"
#include "format/gguf.h"
#include "fuzz_input_file.h"

namespace {

volatile uint8_t g_sink;

void touch(const uint8_t* p, uint64_t n) {
  if (n > 0) g_sink = static_cast<uint8_t>(g_sink ^ p[0] ^ p[n - 1]);
}
void touch(std::string_view s) { touch(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

void touch_value(const webaccel::GgufFile& f, const std::string& key, const webaccel::GgufValue& v) {
  webaccel::gguf_value_to_string(v);
  if (const auto* s = std::get_if<std::string_view>(&v)) touch(*s);
  if (const auto* a = std::get_if<webaccel::GgufArray>(&v)) {
    touch(a->raw.data(), a->raw.size());
    for (auto s : a->strings) touch(s);
    try {
      for (int64_t x : f.get_int_array(key)) g_sink = static_cast<uint8_t>(g_sink ^ x);
    } catch (const webaccel::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = webaccel::fuzz::write_input(data, size);
  try {
    webaccel::GgufFile f(path);
    for (const auto& [key, value] : f.metadata()) touch_value(f, key, value);
    for (const auto& t : f.tensors()) {
      if (&f.tensor(t.name) != &t) __builtin_trap();
      touch(t.data, t.n_bytes);
    }
  } catch (const webaccel::Error&) {
  }
  return 0;
}
