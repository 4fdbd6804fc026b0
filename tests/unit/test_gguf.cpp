// GGUF reader: a synthetic v3 file round-trips; every truncation and each class of malformed
// header is an Error naming the file and the key or tensor; the real SmolLM2 file when present.
#include "format/gguf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf_test_writer.h"
#include "scratch_dir.h"

#ifndef WEBACCEL_SOURCE_DIR
#error "compile with -DWEBACCEL_SOURCE_DIR=\"<project root>\""
#endif

namespace webaccel {
namespace {

namespace fs = std::filesystem;
using testing::GgufTestWriter;
using testing::gguf_f16_bytes;
using testing::gguf_f32_bytes;
using testing::gguf_pattern_bytes;

std::string models_dir() {
  const char* dir = std::getenv("WEBACCEL_MODELS_DIR");
  return dir && *dir ? dir : WEBACCEL_SOURCE_DIR "/models";
}

const std::vector<float> kF32Values = {0, 1, 2, 3, -4, 5.5f, 6, 7};
const std::vector<float> kF16Values = {1.0f, -0.5f, 65504.0f};

// Every value type, string arrays, and five tensor types with padding between them.
GgufTestWriter valid_writer() {
  GgufTestWriter w;
  w.add_string("general.architecture", "llama");
  w.add_scalar("general.alignment", GgufValueType::kU32, uint32_t{32});
  w.add_scalar("test.u8", GgufValueType::kU8, uint8_t{200});
  w.add_scalar("test.i8", GgufValueType::kI8, int8_t{-5});
  w.add_scalar("test.u16", GgufValueType::kU16, uint16_t{60000});
  w.add_scalar("test.i16", GgufValueType::kI16, int16_t{-30000});
  w.add_scalar("test.u32", GgufValueType::kU32, uint32_t{4000000000u});
  w.add_scalar("test.i32", GgufValueType::kI32, int32_t{-2000000000});
  w.add_scalar("test.f32", GgufValueType::kF32, 1.5f);
  w.add_bool("test.bool", true);
  w.add_scalar("test.u64", GgufValueType::kU64, uint64_t{1} << 40);
  w.add_scalar("test.i64", GgufValueType::kI64, -(int64_t{1} << 40));
  w.add_scalar("test.f64", GgufValueType::kF64, 2.25);
  w.add_string_array("tokenizer.ggml.tokens", {"a", "<s>", "h\xc3\xa9llo", ""});
  w.add_array("test.i32_array", GgufValueType::kI32, std::vector<int32_t>{1, -2, 3});
  w.add_array("test.f32_array", GgufValueType::kF32, std::vector<float>{0.5f, 1.0f});
  w.add_tensor("f32", {4, 2}, GgmlType::kF32, gguf_f32_bytes(kF32Values));
  w.add_tensor("f16", {3}, GgmlType::kF16, gguf_f16_bytes(kF16Values));
  w.add_tensor("q8_0", {64, 2}, GgmlType::kQ8_0, gguf_pattern_bytes(128, GgmlType::kQ8_0, 1));
  w.add_tensor("q4_0", {32}, GgmlType::kQ4_0, gguf_pattern_bytes(32, GgmlType::kQ4_0, 2));
  w.add_tensor("q4_1", {32, 1, 1, 2}, GgmlType::kQ4_1, gguf_pattern_bytes(64, GgmlType::kQ4_1, 3));
  return w;
}

// A minimal file with one F32 tensor "w" of shape [8]: the base for the malformed cases.
GgufTestWriter one_tensor_writer() {
  GgufTestWriter w;
  w.add_string("general.architecture", "llama");
  w.add_tensor("w", {8}, GgmlType::kF32, gguf_f32_bytes(kF32Values));
  return w;
}

class GgufTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) { return dir_.write(name, bytes); }

  // Writes the file and returns the message of the Error it must raise, which must name the file.
  std::string load_error(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = write(name, bytes);
    try {
      GgufFile f(path);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      return e.what();
    }
    ADD_FAILURE() << name << ": loaded without error";
    return "";
  }

  testing::ScratchDir dir_{"webaccel_gguf"};
};

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST_F(GgufTest, ValidFileRoundTripsMetadata) {
  GgufFile f(write("valid.gguf", valid_writer().build()));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.metadata().size(), 16u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_uint("test.u8"), 200u);
  EXPECT_EQ(std::get<int64_t>(f.metadata().at("test.i8")), -5);
  EXPECT_EQ(f.get_uint("test.u16"), 60000u);
  EXPECT_EQ(std::get<int64_t>(f.metadata().at("test.i16")), -30000);
  EXPECT_EQ(f.get_uint("test.u32"), 4000000000u);
  EXPECT_EQ(std::get<int64_t>(f.metadata().at("test.i32")), -2000000000);
  EXPECT_EQ(f.get_float("test.f32"), 1.5);
  EXPECT_TRUE(f.get_bool("test.bool"));
  EXPECT_EQ(f.get_uint("test.u64"), uint64_t{1} << 40);
  EXPECT_EQ(std::get<int64_t>(f.metadata().at("test.i64")), -(int64_t{1} << 40));
  EXPECT_EQ(f.get_float("test.f64"), 2.25);
  EXPECT_EQ(f.find_uint("absent"), std::nullopt);
  EXPECT_EQ(f.find_float("test.f32"), 1.5);

  const auto& tokens = f.get_array("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens.elem_type, GgufValueType::kString);
  EXPECT_EQ(tokens.count, 4u);
  ASSERT_EQ(tokens.strings.size(), 4u);
  EXPECT_EQ(tokens.strings[0], "a");
  EXPECT_EQ(tokens.strings[1], "<s>");
  EXPECT_EQ(tokens.strings[2], "h\xc3\xa9llo");
  EXPECT_EQ(tokens.strings[3], "");

  EXPECT_EQ(f.get_int_array("test.i32_array"), (std::vector<int64_t>{1, -2, 3}));
  const auto& floats = f.get_array("test.f32_array");
  ASSERT_EQ(floats.raw.size(), 8u);
  float second;
  std::memcpy(&second, floats.raw.data() + 4, 4);
  EXPECT_EQ(second, 1.0f);
}

TEST_F(GgufTest, ValidFileRoundTripsTensors) {
  const auto w = valid_writer();
  const auto offsets = w.data_offsets();
  GgufFile f(write("valid.gguf", w.build()));
  ASSERT_EQ(f.tensors().size(), 5u);

  struct Expected {
    const char* name;
    GgmlType type;
    std::vector<uint64_t> shape;
    uint64_t n_elements, n_bytes;
    std::vector<uint8_t> bytes;
  };
  const Expected expected[] = {
      {"f32", GgmlType::kF32, {4, 2}, 8, 32, gguf_f32_bytes(kF32Values)},
      {"f16", GgmlType::kF16, {3}, 3, 6, gguf_f16_bytes(kF16Values)},
      {"q8_0", GgmlType::kQ8_0, {64, 2}, 128, 4 * 34, gguf_pattern_bytes(128, GgmlType::kQ8_0, 1)},
      {"q4_0", GgmlType::kQ4_0, {32}, 32, 18, gguf_pattern_bytes(32, GgmlType::kQ4_0, 2)},
      {"q4_1", GgmlType::kQ4_1, {32, 1, 1, 2}, 64, 40, gguf_pattern_bytes(64, GgmlType::kQ4_1, 3)},
  };
  const uint8_t* base = f.tensors()[0].data;
  for (size_t i = 0; i < 5; ++i) {
    const auto& e = expected[i];
    const auto& t = f.tensor(e.name);
    EXPECT_EQ(&t, &f.tensors()[i]);
    EXPECT_EQ(t.type, e.type) << e.name;
    EXPECT_EQ(t.shape, e.shape) << e.name;
    EXPECT_EQ(t.n_elements, e.n_elements) << e.name;
    EXPECT_EQ(t.n_bytes, e.n_bytes) << e.name;
    EXPECT_EQ(t.offset, offsets[i]) << e.name;
    EXPECT_EQ(t.data, base + offsets[i]) << e.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 32, 0u) << e.name;  // the map is page-aligned
    ASSERT_EQ(e.bytes.size(), t.n_bytes) << e.name;
    EXPECT_EQ(std::memcmp(t.data, e.bytes.data(), t.n_bytes), 0) << e.name;
  }
  EXPECT_EQ(f.tensors().back().data + f.tensors().back().n_bytes, base + offsets.back() + 40);
  EXPECT_EQ(f.find_tensor("absent"), nullptr);
}

TEST_F(GgufTest, HonoursLargerAlignment) {
  auto w = one_tensor_writer();
  w.alignment = 64;
  w.add_scalar("general.alignment", GgufValueType::kU32, uint32_t{64});
  w.add_tensor("v", {2}, GgmlType::kF32, gguf_f32_bytes({1, 2}));
  GgufFile f(write("align64.gguf", w.build()));
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.tensor("v").offset, 64u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.tensor("v").data) % 64, 0u);
  float v1;
  std::memcpy(&v1, f.tensor("v").data + 4, 4);
  EXPECT_EQ(v1, 2.0f);
}

TEST_F(GgufTest, TypedGettersNameTheKey) {
  GgufFile f(write("valid.gguf", valid_writer().build()));
  try {
    f.get_uint("test.i8");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(std::string(e.what()), "metadata key 'test.i8' is not a non-negative integer");
  }
  try {
    f.get_string("llama.block_count");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(std::string(e.what()), "metadata key 'llama.block_count' is missing");
  }
  EXPECT_THROW(f.get_bool("test.u8"), Error);
  EXPECT_THROW(f.get_array("test.u8"), Error);
  EXPECT_THROW(f.get_int_array("test.f32_array"), Error);
  EXPECT_THROW(f.get_float("general.architecture"), Error);
  try {
    f.tensor("blk.0.attn_q.weight");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(std::string(e.what()), "tensor 'blk.0.attn_q.weight' is missing");
  }
}

TEST_F(GgufTest, EveryPrefixIsAnErrorNeverACrash) {
  const auto full = valid_writer().build();
  for (size_t n = 0; n < full.size(); ++n) {
    const std::string path = write("prefix.gguf", std::vector<uint8_t>(full.begin(), full.begin() + n));
    EXPECT_THROW(GgufFile f(path), Error) << "prefix of " << n << " bytes";
  }
}

TEST_F(GgufTest, EveryFlippedHeaderByteIsAnErrorOrALoadNeverACrash) {
  const auto w = valid_writer();
  const auto full = w.build();
  const size_t data_start = full.size() - w.data_offsets().back() - 40;
  for (size_t i = 0; i < data_start; ++i) {
    for (const uint8_t mask : {0x01, 0x80, 0xff}) {
      auto bytes = full;
      bytes[i] ^= mask;
      const std::string path = write("flip.gguf", bytes);
      try {
        GgufFile f(path);
        for (const auto& [key, value] : f.metadata()) gguf_value_to_string(value);
      } catch (const Error& e) {
        EXPECT_CONTAINS(std::string(e.what()), path);
      }
    }
  }
}

TEST_F(GgufTest, FlippedMagic) {
  auto bytes = one_tensor_writer().build();
  bytes[1] ^= 0x20;
  EXPECT_CONTAINS(load_error("magic.gguf", bytes), "GGUF");
}

TEST_F(GgufTest, UnsupportedVersion) {
  auto w = one_tensor_writer();
  w.version = 1;
  EXPECT_CONTAINS(load_error("v1.gguf", w.build()), "unsupported GGUF version 1");
}

TEST_F(GgufTest, TensorOffsetPastTheEnd) {
  auto w = one_tensor_writer();
  w.add_tensor("blk.0.ffn_up.weight", {8}, static_cast<uint32_t>(GgmlType::kF32), gguf_f32_bytes(kF32Values), 4096);
  const std::string msg = load_error("past.gguf", w.build());
  EXPECT_CONTAINS(msg, "tensor 'blk.0.ffn_up.weight'");
  EXPECT_CONTAINS(msg, "past the end");
}

TEST_F(GgufTest, TensorDataCutShort) {
  auto bytes = one_tensor_writer().build();
  bytes.erase(bytes.end() - 4, bytes.end());
  const std::string msg = load_error("cut.gguf", bytes);
  EXPECT_CONTAINS(msg, "tensor 'w' (32 bytes at data offset 0) points past the end");
}

TEST_F(GgufTest, UnknownTensorType) {
  auto w = one_tensor_writer();
  w.add_tensor("odd", {8}, 99, std::vector<uint8_t>(32));
  EXPECT_CONTAINS(load_error("type.gguf", w.build()), "tensor 'odd': unknown tensor type 99");
}

TEST_F(GgufTest, DimensionCountOutOfRange) {
  auto w0 = one_tensor_writer();
  w0.add_tensor("scalar", {}, static_cast<uint32_t>(GgmlType::kF32), std::vector<uint8_t>(4));
  EXPECT_CONTAINS(load_error("dims0.gguf", w0.build()), "tensor 'scalar': 0 dimensions (1..4 allowed)");
  auto w5 = one_tensor_writer();
  w5.add_tensor("five", {1, 1, 1, 1, 1}, static_cast<uint32_t>(GgmlType::kF32), std::vector<uint8_t>(4));
  EXPECT_CONTAINS(load_error("dims5.gguf", w5.build()), "tensor 'five': 5 dimensions (1..4 allowed)");
}

TEST_F(GgufTest, ZeroDimension) {
  auto w = one_tensor_writer();
  w.add_tensor("empty", {4, 0}, static_cast<uint32_t>(GgmlType::kF32), {});
  EXPECT_CONTAINS(load_error("zero.gguf", w.build()), "tensor 'empty': dimension 1 is zero");
}

TEST_F(GgufTest, SizeOverflow) {
  auto w = one_tensor_writer();
  w.add_tensor("big", {uint64_t{1} << 32, uint64_t{1} << 32}, static_cast<uint32_t>(GgmlType::kF32), {});
  EXPECT_CONTAINS(load_error("elems.gguf", w.build()), "tensor 'big': element count overflows");
  auto w2 = one_tensor_writer();
  w2.add_tensor("big", {uint64_t{1} << 62}, static_cast<uint32_t>(GgmlType::kF32), {});
  EXPECT_CONTAINS(load_error("bytes.gguf", w2.build()), "tensor 'big': byte size overflows");
}

TEST_F(GgufTest, DuplicateKey) {
  auto w = one_tensor_writer();
  w.add_scalar("llama.block_count", GgufValueType::kU32, uint32_t{2});
  w.add_scalar("llama.block_count", GgufValueType::kU32, uint32_t{3});
  EXPECT_CONTAINS(load_error("dupkey.gguf", w.build()), "metadata key 'llama.block_count' appears twice");
}

TEST_F(GgufTest, DuplicateTensorName) {
  auto w = one_tensor_writer();
  w.add_tensor("w", {8}, GgmlType::kF32, gguf_f32_bytes(kF32Values));
  EXPECT_CONTAINS(load_error("duptensor.gguf", w.build()), "tensor 'w' appears twice");
}

TEST_F(GgufTest, RowLengthNotAMultipleOfTheBlockSize) {
  auto w = one_tensor_writer();
  w.add_tensor("q", {33, 2}, static_cast<uint32_t>(GgmlType::kQ8_0), std::vector<uint8_t>(136));
  EXPECT_CONTAINS(load_error("row.gguf", w.build()), "tensor 'q': row length 33 is not a multiple of the Q8_0 block size 32");
}

TEST_F(GgufTest, MisalignedOffset) {
  auto w = one_tensor_writer();
  w.add_tensor("m", {8}, static_cast<uint32_t>(GgmlType::kF32), gguf_f32_bytes(kF32Values), 36);
  EXPECT_CONTAINS(load_error("misaligned.gguf", w.build()), "tensor 'm': offset 36 is not aligned to 32");
}

TEST_F(GgufTest, AlignmentNotAPowerOfTwo) {
  auto w = one_tensor_writer();
  w.add_scalar("general.alignment", GgufValueType::kU32, uint32_t{48});
  EXPECT_CONTAINS(load_error("align48.gguf", w.build()), "general.alignment 48 is not a power of two");
  auto w0 = one_tensor_writer();
  w0.add_scalar("general.alignment", GgufValueType::kU32, uint32_t{0});
  EXPECT_CONTAINS(load_error("align0.gguf", w0.build()), "general.alignment 0 is not a power of two");
}

TEST_F(GgufTest, MalformedValues) {
  struct Case {
    uint32_t type_id;
    std::vector<uint8_t> payload;
    const char* expected;
  };
  const uint8_t kHugeLength[8] = {0, 0, 0, 0, 0, 0, 0, 0x7f};
  const Case cases[] = {
      {7, {2}, "metadata key 'k': bool value 2 is neither 0 nor 1"},
      {13, {}, "metadata key 'k': unknown value type 13"},
      {9, {9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, "metadata key 'k': unsupported array element type 9"},
      {9, {13, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, "metadata key 'k': unsupported array element type 13"},
      {8, std::vector<uint8_t>(kHugeLength, kHugeLength + 8), "metadata key 'k': string length"},
      {9, {8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f}, "metadata key 'k': array of"},
      {9, {4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f}, "metadata key 'k': array of"},
  };
  int i = 0;
  for (const auto& c : cases) {
    auto w = one_tensor_writer();
    w.add_raw_kv("k", c.type_id, c.payload);
    EXPECT_CONTAINS(load_error("value" + std::to_string(i++) + ".gguf", w.build()), c.expected);
  }
}

TEST_F(GgufTest, ImplausibleCounts) {
  auto bytes = one_tensor_writer().build();
  auto tensors = bytes;
  tensors[15] = 0x7f;  // tensor count, bytes 8..15
  EXPECT_CONTAINS(load_error("ntensors.gguf", tensors), "tensor count");
  auto kvs = bytes;
  kvs[23] = 0x7f;  // metadata count, bytes 16..23
  EXPECT_CONTAINS(load_error("nkv.gguf", kvs), "metadata count");
}

TEST_F(GgufTest, EmptyFileIsIoError) {
  try {
    GgufFile f(write("empty.gguf", {}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST(GgufRealModel, SmolLM2) {
  const std::string path = models_dir() + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not present";
  GgufFile f(path);
  EXPECT_EQ(f.tensors().size(), 272u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_uint("llama.block_count"), 30u);
  const auto& emb = f.tensor("token_embd.weight");
  EXPECT_EQ(emb.type, GgmlType::kQ8_0);
  EXPECT_EQ(emb.shape, (std::vector<uint64_t>{576, 49152}));
  EXPECT_EQ(emb.n_bytes, uint64_t{576} * 49152 / 32 * 34);
  EXPECT_EQ(f.get_array("tokenizer.ggml.tokens").count, 49152u);
  const auto& last = f.tensors().back();
  EXPECT_LE(static_cast<uint64_t>(last.data - f.tensors().front().data) + last.n_bytes, f.file_size());
}

}  // namespace
}  // namespace webaccel
