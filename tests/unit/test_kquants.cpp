// K-quant dequantization against goldens from the python `gguf` package
// (tests/golden/make_kquant_goldens.py). Same float operations, so equality is bitwise.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "cpu/kquants_reference.h"

#ifndef WEBACCEL_SOURCE_DIR
#error "compile with -DWEBACCEL_SOURCE_DIR=\"<project root>\""
#endif

namespace webaccel::cpu::reference {
namespace {

struct GoldenRecord {
  GgmlType type;
  uint32_t rows, cols, row_bytes;
  std::vector<uint8_t> quantized;  // (rows, row_bytes)
  std::vector<float> expected;     // (rows, cols)
};

class Reader {
 public:
  explicit Reader(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  void read(void* out, size_t n) {
    if (pos_ + n > bytes_.size()) fail(ErrorKind::kIo, "kquants.bin: truncated at byte " + std::to_string(pos_));
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
  }
  uint32_t u32() {
    uint32_t v;
    read(&v, sizeof v);  // the file is little-endian, as is every target we build for
    return v;
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

std::vector<GoldenRecord> load_goldens() {
  const std::string path = std::string(WEBACCEL_SOURCE_DIR) + "/tests/golden/kquants.bin";
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(ErrorKind::kIo, path + ": cannot open (run tests/golden/make_kquant_goldens.py)");
  Reader in(std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {}));
  char magic[4];
  in.read(magic, 4);
  if (std::memcmp(magic, "WAKQ", 4) != 0 || in.u32() != 1) fail(ErrorKind::kFormat, path + ": bad magic or version");
  std::vector<GoldenRecord> records(in.u32());
  for (auto& r : records) {
    r.type = static_cast<GgmlType>(in.u32());
    r.rows = in.u32();
    r.cols = in.u32();
    r.row_bytes = in.u32();
    r.quantized.resize(size_t{r.rows} * r.row_bytes);
    r.expected.resize(size_t{r.rows} * r.cols);
    in.read(r.quantized.data(), r.quantized.size());
    in.read(r.expected.data(), r.expected.size() * sizeof(float));
  }
  return records;
}

TEST(KQuants, MatchesGgufPythonBitwise) {
  const auto records = load_goldens();
  ASSERT_EQ(records.size(), 5u);
  for (const auto& r : records) {
    const std::string name(ggml_type_name(r.type));
    const auto traits = ggml_type_traits(static_cast<uint32_t>(r.type));
    ASSERT_TRUE(traits.has_value()) << name;
    ASSERT_EQ(r.row_bytes, r.cols / traits->block_elems * traits->block_bytes) << name;
    std::vector<float> got(r.expected.size());
    for (size_t row = 0; row < r.rows; ++row) {
      dequantize_row_kquant(r.type, r.quantized.data() + row * r.row_bytes, got.data() + row * r.cols, r.cols);
    }
    size_t mismatches = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(r.expected[i]) && mismatches++ < 5) {
        ADD_FAILURE() << name << " element " << i << ": got " << got[i] << ", gguf says " << r.expected[i];
      }
    }
    EXPECT_EQ(mismatches, 0u) << name;
  }
}

// A hand-built Q4_K block: sub-block 5 takes its 6-bit scale and min from three different bytes.
TEST(KQuants, Q4KUpperSubBlockScaleAndMin) {
  uint8_t block[144] = {};
  const uint16_t one = float_to_half(1.0f), half = float_to_half(0.5f);
  std::memcpy(block + 0, &one, 2);   // d
  std::memcpy(block + 2, &half, 2);  // dmin
  uint8_t* scales = block + 4;
  scales[1] = 0b10'000000;  // top bits of sub-block 5's scale: 2
  scales[5] = 0b01'000000;  // top bits of sub-block 5's min: 1
  scales[9] = 0x73;         // sub-block 5: scale low nibble 3, min low nibble 7
  uint8_t* qs = block + 16;
  qs[64 + 3] = 0x90;  // element 5 * 32 + 3 sits in the high nibble of chunk 2: q = 9
  float y[256];
  dequantize_row_kquant(GgmlType::kQ4_K, block, y, 256);
  const float scale = 2 * 16 + 3, min = 1 * 16 + 7;
  EXPECT_EQ(y[5 * 32 + 3], scale * 9 - 0.5f * min);
  EXPECT_EQ(y[5 * 32 + 4], -0.5f * min);
}

TEST(KQuants, RejectsOtherTypesAndPartialSuperBlocks) {
  std::vector<uint8_t> src(210);
  std::vector<float> dst(256);
  try {
    dequantize_row_kquant(GgmlType::kQ8_0, src.data(), dst.data(), 256);
    FAIL() << "Q8_0 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kFormat);
    EXPECT_NE(std::string(e.what()).find("Q8_0"), std::string::npos) << e.what();
  }
  try {
    dequantize_row_kquant(GgmlType::kQ6_K, src.data(), dst.data(), 128);
    FAIL() << "128 elements accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kFormat);
    EXPECT_NE(std::string(e.what()).find("128"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace webaccel::cpu::reference
