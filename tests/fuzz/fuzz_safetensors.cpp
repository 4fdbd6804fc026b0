// libFuzzer target for the safetensors reader: any input is an Error or a file whose every tensor
// converts and every metadata value reads; skipped tensors are an Error when asked for.
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//     tests/fuzz/fuzz_safetensors.cpp src/format/safetensors.cpp src/core/mapped_file.cpp -o fuzz_safetensors
//   ./fuzz_safetensors /tmp/corpus_safetensors tests/fuzz/corpus/safetensors -dict=tests/fuzz/safetensors.dict -max_total_time=120
// Seeds come from tests/fuzz/make_corpus.py; new units go to the first (scratch) directory.
#include <cstdint>

#include "core/error.h"
#include "format/safetensors.h"
#include "fuzz_input_file.h"

namespace {

volatile uint8_t g_sink;

void touch(const uint8_t* p, uint64_t n) {
  if (n > 0) g_sink = static_cast<uint8_t>(g_sink ^ p[0] ^ p[n - 1]);
}
void touch(const std::string& s) { touch(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = webaccel::fuzz::write_input(data, size);
  try {
    webaccel::SafetensorsFile f(path);
    for (const auto& [key, value] : f.metadata()) {
      touch(key);
      touch(value);
    }
    for (const auto& t : f.tensors()) {
      if (&f.tensor(t.name) != &t) __builtin_trap();
      touch(t.data, t.n_bytes);
      for (float x : f.to_f32(t)) g_sink = static_cast<uint8_t>(g_sink ^ static_cast<uint8_t>(x != x));
    }
    for (const auto& [name, dtype] : f.skipped_tensors()) {
      bool threw = false;
      try {
        f.tensor(name);
      } catch (const webaccel::Error&) {
        threw = true;
      }
      if (!threw) __builtin_trap();
    }
  } catch (const webaccel::Error&) {
  }
  return 0;
}
