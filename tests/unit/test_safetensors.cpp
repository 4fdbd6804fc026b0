// safetensors reader: synthetic files with known values, every class of malformed input, and the
// real all-MiniLM-L6-v2 checkpoint when present.
#include "format/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"

#ifndef WEBACCEL_SOURCE_DIR
#error "compile with -DWEBACCEL_SOURCE_DIR=\"<project root>\""
#endif

namespace webaccel {
namespace {

namespace fs = std::filesystem;

std::string models_dir() {
  const char* dir = std::getenv("WEBACCEL_MODELS_DIR");
  return dir && *dir ? dir : WEBACCEL_SOURCE_DIR "/models";
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("webaccel_safetensors_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  // Writes the file and returns the message of the Error it must raise.
  std::string load_error(const std::string& name, const std::string& bytes) {
    const std::string path = write(name, bytes);
    try {
      SafetensorsFile f(path);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      return e.what();
    }
    ADD_FAILURE() << name << ": loaded without error";
    return "";
  }

  fs::path dir_;
};

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

// A safetensors file: length prefix, header padded with spaces to 8 bytes as the reference writer does, data.
std::string st_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + data;
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

const std::vector<float> kF32Values = {1.0f, -2.0f, 0.5f, 3.25f, -0.0f, 1e-3f};
const std::vector<uint16_t> kF16Bits = {0x3c00, 0xc000, 0x3800, 0x7bff};  // 1, -2, 0.5, 65504
const std::vector<uint16_t> kBF16Bits = {0x3f80, 0xc060};                 // 1, -3.5

// F32 "a" [2, 3] at [0, 24), F16 "b" [4] at [24, 32), BF16 "c" [2] at [32, 36), F32 scalar "s" at [36, 40),
// empty F32 "z" [0, 4] at [40, 40).
std::string valid_file() {
  const std::string header =
      R"({"__metadata__":{"format":"pt","note":"test"},)"
      R"("b":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},)"
      R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("c":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},)"
      R"("s":{"dtype":"F32","shape":[],"data_offsets":[36,40]},)"
      R"("z":{"dtype":"F32","shape":[0,4],"data_offsets":[40,40]}})";
  return st_file(header, raw(kF32Values) + raw(kF16Bits) + raw(kBF16Bits) + raw(std::vector<float>{7.0f}));
}

TEST_F(SafetensorsTest, ReadsF32F16BF16WithKnownValues) {
  SafetensorsFile f(write("valid.safetensors", valid_file()));
  ASSERT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // data order, not header order
  EXPECT_EQ(f.tensors()[1].name, "b");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "test");
  EXPECT_TRUE(f.skipped_tensors().empty());

  const auto& a = f.tensor("a");
  EXPECT_EQ(a.dtype, SafetensorsDtype::kF32);
  EXPECT_EQ(a.shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(a.n_elements, 6u);
  EXPECT_EQ(a.n_bytes, 24u);
  EXPECT_EQ(f.to_f32(a), kF32Values);

  const auto& b = f.tensor("b");
  EXPECT_EQ(b.dtype, SafetensorsDtype::kF16);
  EXPECT_EQ(b.data, a.data + 24);
  EXPECT_EQ(f.to_f32(b), (std::vector<float>{1.0f, -2.0f, 0.5f, 65504.0f}));

  const auto& c = f.tensor("c");
  EXPECT_EQ(c.dtype, SafetensorsDtype::kBF16);
  EXPECT_EQ(safetensors_dtype_name(c.dtype), "BF16");
  EXPECT_EQ(f.to_f32(c), (std::vector<float>{1.0f, -3.5f}));

  const auto& s = f.tensor("s");
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.n_elements, 1u);
  EXPECT_EQ(f.to_f32(s), std::vector<float>{7.0f});

  const auto& z = f.tensor("z");
  EXPECT_EQ(z.n_elements, 0u);
  EXPECT_TRUE(f.to_f32(z).empty());

  EXPECT_EQ(f.find("nope"), nullptr);
  EXPECT_EQ(f.find("a"), &a);
}

TEST_F(SafetensorsTest, MissingTensorNamesIt) {
  SafetensorsFile f(write("valid.safetensors", valid_file()));
  try {
    f.tensor("blk.0.missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'blk.0.missing' is missing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(f.path()), std::string::npos) << e.what();
  }
}

TEST_F(SafetensorsTest, MissingFileIsIoError) {
  try {
    SafetensorsFile f((dir_ / "absent.safetensors").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("absent.safetensors"), std::string::npos) << e.what();
  }
}

TEST_F(SafetensorsTest, TruncatedFile) {
  EXPECT_NE(load_error("short.safetensors", std::string("\x10\x00\x00", 3)).find("truncated"), std::string::npos);
  // Cut inside the data section: the last tensor's offsets now run past the end.
  const std::string full = valid_file();
  const std::string msg = load_error("cut.safetensors", full.substr(0, full.size() - 2));
  EXPECT_NE(msg.find("tensor 's'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("past the end"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, EveryPrefixIsAnErrorNeverACrash) {
  const std::string full = valid_file();
  for (size_t n = 0; n < full.size(); ++n) {
    const std::string path = write("prefix.safetensors", full.substr(0, n));
    EXPECT_THROW(SafetensorsFile f(path), Error) << "prefix of " << n << " bytes";
  }
}

TEST_F(SafetensorsTest, HeaderLengthPastTheEnd) {
  const std::string msg = load_error("hlen.safetensors", le64(1000) + "{}");
  EXPECT_NE(msg.find("header length 1000 runs past the end"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, HeaderLengthOverLimit) {
  // A sparse file just large enough that the 101 MB header length fits inside it.
  const uint64_t header_len = 101ull << 20;
  const std::string path = write("huge.safetensors", le64(header_len) + "{}");
  fs::resize_file(path, header_len + 16);
  try {
    SafetensorsFile f(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": header length 105906176 exceeds the 100 MB limit"), std::string::npos)
        << e.what();
  }
}

TEST_F(SafetensorsTest, MalformedJson) {
  const std::string msg = load_error("json.safetensors", st_file(R"({"a":{"dtype":"F32",)", ""));
  EXPECT_NE(msg.find("header is not valid JSON"), std::string::npos) << msg;
  const std::string msg2 = load_error("array.safetensors", st_file("[1, 2]", ""));
  EXPECT_NE(msg2.find("not a JSON object"), std::string::npos) << msg2;
}

TEST_F(SafetensorsTest, DataOffsetsPastTheEnd) {
  const std::string msg = load_error(
      "past.safetensors", st_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", std::string(16, '\0')));
  EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data_offsets"), std::string::npos) << msg;
  EXPECT_NE(msg.find("past the end"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, DataOffsetsReversed) {
  const std::string msg = load_error(
      "rev.safetensors", st_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(16, '\0')));
  EXPECT_NE(msg.find("tensor 'w': field 'data_offsets' [8, 4] ends before it begins"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, SizeNotMatchingShape) {
  const std::string msg = load_error(
      "size.safetensors", st_file(R"({"w":{"dtype":"F16","shape":[3,2],"data_offsets":[0,16]}})", std::string(16, '\0')));
  EXPECT_NE(msg.find("tensor 'w': shape [3, 2] of F16 needs 12 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("spans 16"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, ShapeOverflow) {
  const std::string msg = load_error(
      "ovf.safetensors",
      st_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", std::string(4, '\0')));
  EXPECT_NE(msg.find("tensor 'w': field 'shape': element count overflows"), std::string::npos) << msg;
  const std::string msg2 = load_error(
      "ovf2.safetensors",
      st_file(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", std::string(4, '\0')));
  EXPECT_NE(msg2.find("tensor 'w': field 'shape': byte size overflows"), std::string::npos) << msg2;
}

TEST_F(SafetensorsTest, BadFieldTypes) {
  const std::string data(8, '\0');
  struct Case {
    const char* header;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "tensor 'w': field 'shape' holds -2"},
      {R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", "tensor 'w': field 'shape' holds 2.0"},
      {R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", "tensor 'w': field 'shape' is missing"},
      {R"({"w":{"shape":[2],"data_offsets":[0,8]}})", "tensor 'w': field 'dtype' is missing"},
      {R"({"w":{"dtype":"F32","shape":[2]}})", "tensor 'w': field 'data_offsets' is missing"},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", "tensor 'w': field 'data_offsets' is missing"},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", "tensor 'w': field 'data_offsets' is missing"},
      {R"({"w":[1,2]})", "tensor 'w': entry is not an object"},
      {R"({"__metadata__":{"format":1}})", "field '__metadata__': value of 'format' is not a string"},
      {R"({"__metadata__":["pt"]})", "field '__metadata__' is not an object"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string msg = load_error("field" + std::to_string(i++) + ".safetensors", st_file(c.header, data));
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.header << "\n" << msg;
  }
}

TEST_F(SafetensorsTest, UnsupportedIntegerDtypeErrorsOnlyWhenAccessed) {
  const std::string header =
      R"({"embeddings.position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},)"
      R"("w":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})";
  SafetensorsFile f(write("i64.safetensors", st_file(header, std::string(16, '\0') + raw(std::vector<float>{1, 2}))));
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.skipped_tensors().at("embeddings.position_ids"), "I64");
  EXPECT_EQ(f.find("embeddings.position_ids"), nullptr);
  try {
    f.tensor("embeddings.position_ids");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(f.path()), std::string::npos) << msg;
    EXPECT_NE(msg.find("tensor 'embeddings.position_ids' has dtype I64"), std::string::npos) << msg;
  }
}

TEST_F(SafetensorsTest, SkippedDtypeStillValidated) {
  const std::string msg = load_error(
      "i64size.safetensors", st_file(R"({"ids":{"dtype":"I64","shape":[3],"data_offsets":[0,16]}})", std::string(16, '\0')));
  EXPECT_NE(msg.find("tensor 'ids': shape [3] of I64 needs 24 bytes"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, UnknownOrRejectedDtypeFailsAtLoad) {
  const std::string msg = load_error(
      "q9.safetensors", st_file(R"({"w":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')));
  EXPECT_NE(msg.find("tensor 'w': unknown dtype 'Q9'"), std::string::npos) << msg;
  const std::string msg2 = load_error(
      "f64.safetensors", st_file(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')));
  EXPECT_NE(msg2.find("tensor 'w': dtype F64 is not supported"), std::string::npos) << msg2;
}

TEST_F(SafetensorsTest, OverlappingOffsets) {
  const std::string header =
      R"({"first":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
      R"("second":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})";
  const std::string msg = load_error("overlap.safetensors", st_file(header, std::string(20, '\0')));
  EXPECT_NE(msg.find("tensor 'second': field 'data_offsets' [12, 20] overlaps tensor 'first' [0, 16]"), std::string::npos)
      << msg;
}

TEST_F(SafetensorsTest, OverlapWithinAnEarlierLongTensor) {
  // "inner" lies inside "outer" but after the short "tiny": overlap must be checked against the furthest end.
  const std::string header =
      R"({"outer":{"dtype":"U8","shape":[32],"data_offsets":[0,32]},)"
      R"("tiny":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},)"
      R"("inner":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  const std::string msg = load_error("inner.safetensors", st_file(header, std::string(32, '\0')));
  EXPECT_NE(msg.find("overlaps tensor 'outer'"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, FlippedHeaderByte) {
  std::string bytes = valid_file();
  // The '3' of "shape":[2,3] becomes '7': 14 elements no longer fit the 24 bytes of data_offsets.
  const size_t pos = bytes.find("[2,3]") + 3;
  bytes[pos] ^= 0x04;
  const std::string msg = load_error("flip.safetensors", bytes);
  EXPECT_NE(msg.find("tensor 'a': shape [2, 7] of F32 needs 56 bytes"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, EveryFlippedByteIsAnErrorOrALoadNeverACrash) {
  const std::string full = valid_file();
  for (size_t i = 0; i < full.size(); ++i) {
    for (const uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bytes = full;
      bytes[i] = static_cast<char>(bytes[i] ^ mask);
      const std::string path = write("flip.safetensors", bytes);
      try {
        SafetensorsFile f(path);
        for (const auto& t : f.tensors()) f.to_f32(t);
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      }
    }
  }
}

TEST(SafetensorsRealModel, MiniLM) {
  const std::string path = models_dir() + "/minilm/model.safetensors";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not present";
  SafetensorsFile f(path);
  EXPECT_EQ(f.tensors().size(), 103u);
  EXPECT_EQ(f.skipped_tensors().size(), 1u);
  EXPECT_EQ(f.skipped_tensors().at("embeddings.position_ids"), "I64");
  EXPECT_THROW(f.tensor("embeddings.position_ids"), Error);
  EXPECT_EQ(f.metadata().at("format"), "pt");

  const auto& emb = f.tensor("embeddings.word_embeddings.weight");
  EXPECT_EQ(emb.dtype, SafetensorsDtype::kF32);
  EXPECT_EQ(emb.shape, (std::vector<uint64_t>{30522, 384}));
  const auto& q = f.tensor("encoder.layer.5.attention.self.query.weight");
  EXPECT_EQ(q.shape, (std::vector<uint64_t>{384, 384}));
  const auto gamma = f.to_f32(f.tensor("embeddings.LayerNorm.weight"));
  ASSERT_EQ(gamma.size(), 384u);
  for (float g : gamma) EXPECT_TRUE(std::isfinite(g));
}

}  // namespace
}  // namespace webaccel
