// GGUF writer and F32 conversion: a file of every value type and odd-sized tensors of several
// types converts to a GGUF that reads back with the same metadata (types included) and every
// tensor equal to the dequantized original; errors name the file and leave no output behind.
#include "quant/gguf_to_f32.h"

#include <gtest/gtest.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <type_traits>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "gguf_test_writer.h"
#include "scratch_dir.h"

namespace webaccel {
namespace {

namespace fs = std::filesystem;
using testing::GgufTestWriter;
using testing::gguf_f16_bytes;
using testing::gguf_f32_bytes;
using testing::gguf_pattern_bytes;

// Every value type, a 64-byte alignment, and tensors whose sizes are not multiples of it.
GgufTestWriter quantized_writer() {
  GgufTestWriter w;
  w.alignment = 64;
  w.add_scalar("general.alignment", GgufValueType::kU32, uint32_t{64});
  w.add_string("general.architecture", "llama");
  w.add_scalar("general.file_type", GgufValueType::kU32, uint32_t{3});
  w.add_scalar("test.u8", GgufValueType::kU8, uint8_t{200});
  w.add_scalar("test.i8", GgufValueType::kI8, int8_t{-5});
  w.add_scalar("test.u16", GgufValueType::kU16, uint16_t{60000});
  w.add_scalar("test.i16", GgufValueType::kI16, int16_t{-30000});
  w.add_scalar("test.i32", GgufValueType::kI32, int32_t{-2000000000});
  w.add_scalar("test.f32", GgufValueType::kF32, 0.1f);
  w.add_bool("test.bool", true);
  w.add_scalar("test.u64", GgufValueType::kU64, uint64_t{1} << 40);
  w.add_scalar("test.i64", GgufValueType::kI64, -(int64_t{1} << 40));
  w.add_scalar("test.f64", GgufValueType::kF64, 0.1);
  w.add_string_array("tokenizer.ggml.tokens", {"a", "<s>", "h\xc3\xa9llo", ""});
  w.add_array("tokenizer.ggml.token_type", GgufValueType::kI32, std::vector<int32_t>{1, 3, 1, 1});
  w.add_array("test.f32_array", GgufValueType::kF32, std::vector<float>{0.5f, -1.0f});
  w.add_tensor("f32", {7}, GgmlType::kF32, gguf_f32_bytes({0, 1, 2, 3, -4, 5.5f, 6}));
  w.add_tensor("f16", {5, 3}, GgmlType::kF16, gguf_f16_bytes({1, -0.5f, 65504, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  w.add_tensor("q4_1", {96, 5}, GgmlType::kQ4_1, gguf_pattern_bytes(96 * 5, GgmlType::kQ4_1, 3));
  w.add_tensor("q8_0", {32, 7}, GgmlType::kQ8_0, gguf_pattern_bytes(32 * 7, GgmlType::kQ8_0, 1));
  w.add_tensor("q4_0", {32, 1, 3}, GgmlType::kQ4_0, gguf_pattern_bytes(96, GgmlType::kQ4_0, 2));
  w.add_tensor("q6_k", {256, 3}, GgmlType::kQ6_K, gguf_pattern_bytes(768, GgmlType::kQ6_K, 4));
  w.add_tensor("bf16", {3, 3}, GgmlType::kBF16, gguf_pattern_bytes(9, GgmlType::kBF16, 5));
  return w;
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.index() != b.index()) return false;
  return std::visit([&](const auto& x) {
    using T = std::decay_t<decltype(x)>;
    const T& y = std::get<T>(b);
    if constexpr (std::is_same_v<T, GgufArray>) {
      return x.elem_type == y.elem_type && x.count == y.count && x.strings == y.strings &&
             std::equal(x.raw.begin(), x.raw.end(), y.raw.begin(), y.raw.end());
    } else {
      return x == y;
    }
  }, a);
}

std::vector<uint8_t> dequantized_bytes(const GgufTensorInfo& t) {
  std::vector<float> out(t.n_elements);
  const size_t row = t.shape[0], rows = t.n_elements / row, row_bytes = t.n_bytes / rows;
  for (size_t r = 0; r < rows; ++r) cpu::reference::dequantize_row(t.type, t.data + r * row_bytes, out.data() + r * row, row);
  std::vector<uint8_t> bytes(out.size() * sizeof(float));
  std::memcpy(bytes.data(), out.data(), bytes.size());
  return bytes;
}

class GgufToF32Test : public ::testing::Test {
 protected:
  static std::vector<char> slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  testing::ScratchDir dir_{"webaccel_gguf_f32"};
};

TEST_F(GgufToF32Test, RoundTripKeepsMetadataAndDequantizesEveryTensor) {
  const GgufFile in(dir_.write("in.gguf", quantized_writer().build()));
  const std::string out_path = dir_.path("out.gguf");
  const auto stats = quant::convert_gguf_to_f32(in, out_path);
  EXPECT_EQ(stats.tensors, 7u);
  EXPECT_EQ(stats.dequantized, 6u);
  EXPECT_FALSE(fs::exists(out_path + ".partial"));

  const GgufFile out(out_path);
  EXPECT_EQ(out.version(), 3u);
  EXPECT_EQ(out.alignment(), 64u);
  EXPECT_EQ(stats.output_bytes, out.file_size());
  ASSERT_EQ(out.metadata().size(), in.metadata().size());
  for (const auto& [key, value] : in.metadata()) {
    ASSERT_TRUE(out.has(key)) << key;
    EXPECT_EQ(out.value_type(key), in.value_type(key)) << key;
    if (key == "general.file_type") {
      EXPECT_EQ(out.get_uint(key), 0u);  // all F32
    } else {
      EXPECT_TRUE(same_value(out.metadata().at(key), value)) << key;
    }
  }
  ASSERT_EQ(out.tensors().size(), in.tensors().size());
  for (size_t i = 0; i < in.tensors().size(); ++i) {
    const auto& a = in.tensors()[i];
    const auto& b = out.tensors()[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.type, GgmlType::kF32) << b.name;
    EXPECT_EQ(b.offset % 64, 0u) << b.name;
    const auto want = dequantized_bytes(a);  // compared as bytes: NaNs from random scales compare too
    ASSERT_EQ(b.n_bytes, want.size()) << b.name;
    EXPECT_EQ(std::memcmp(b.data, want.data(), want.size()), 0) << b.name;
  }
}

TEST_F(GgufToF32Test, ConvertingTwiceGivesTheSameBytes) {
  const GgufFile in(dir_.write("in.gguf", quantized_writer().build()));
  quant::convert_gguf_to_f32(in, dir_.path("a.gguf"));
  quant::convert_gguf_to_f32(in, dir_.path("b.gguf"));
  EXPECT_EQ(slurp(dir_.path("a.gguf")), slurp(dir_.path("b.gguf")));
  // An F32 file converts to itself, byte for byte, when the layout is the writer's.
  const GgufFile a(dir_.path("a.gguf"));
  quant::convert_gguf_to_f32(a, dir_.path("c.gguf"));
  EXPECT_EQ(slurp(dir_.path("a.gguf")), slurp(dir_.path("c.gguf")));
}

TEST_F(GgufToF32Test, UnwritableOutputIsAnIoErrorNamingIt) {
  const GgufFile in(dir_.write("in.gguf", quantized_writer().build()));
  const std::string out_path = dir_.path("no_such_dir/out.gguf");
  try {
    quant::convert_gguf_to_f32(in, out_path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find(out_path), std::string::npos) << e.what();
  }
}

TEST_F(GgufToF32Test, TensorWeCannotDequantizeNamesFileAndTensorAndLeavesNothing) {
  GgufTestWriter w;
  w.add_string("general.architecture", "llama");
  w.add_tensor("ok", {32}, GgmlType::kF32, gguf_f32_bytes(std::vector<float>(32, 1.0f)));
  w.add_tensor("activations", {32}, GgmlType::kQ8_1, gguf_pattern_bytes(32, GgmlType::kQ8_1, 1));
  const GgufFile in(dir_.write("in.gguf", w.build()));
  const std::string out_path = dir_.path("out.gguf");
  try {
    quant::convert_gguf_to_f32(in, out_path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kFormat);
    EXPECT_NE(std::string(e.what()).find(in.path()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'activations'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out_path));
  EXPECT_FALSE(fs::exists(out_path + ".partial"));
}

}  // namespace
}  // namespace webaccel
