// A GoogleTest base for GPU tests: one native device per test suite (opened once: device creation
// costs ~100 ms on a software driver), skipped with the reason when WebGPU is absent or the device
// was lost, and buffers made from / read into std::vector, released after each test.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "gpu/device.h"
#include "gpu/kernels.h"

namespace webaccel::gpu {

class GpuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    device_ = open_native_device(&why_).release();
    if (!device_) return;
    const auto& i = device_->info();
    std::printf("[gpu] %s on %s (%s): maxStorageBufferBindingSize %llu, maxBufferSize %llu, f16 %d, subgroups %d, "
                "timestamps %d, dot4I8Packed %d\n",
                i.implementation.c_str(), i.adapter.c_str(), i.backend.c_str(),
                static_cast<unsigned long long>(i.max_storage_buffer_binding_size),
                static_cast<unsigned long long>(i.max_buffer_size), i.shader_f16, i.subgroups, i.timestamps, i.packed_dot4);
  }
  static void TearDownTestSuite() {
    delete device_;
    device_ = nullptr;
  }
  void SetUp() override {
    if (!device_) GTEST_SKIP() << "WebGPU absent: " << why_;
    if (device_->lost()) GTEST_SKIP() << "device lost by an earlier test";
    kernels_ = std::make_unique<Kernels>(*device_);
  }
  void TearDown() override {
    if (!device_) return;
    for (auto b : owned_) device_->release(b);
    owned_.clear();
  }

  Buffer upload(const std::vector<float>& v) {
    Buffer b = device_->create_buffer(v.size() * sizeof(float), "test input");
    device_->write_buffer(b, 0, v.data(), v.size() * sizeof(float));
    owned_.push_back(b);
    return b;
  }
  Buffer zeros(size_t n) {
    Buffer b = device_->create_buffer(n * sizeof(float), "test output");
    owned_.push_back(b);
    return b;
  }
  std::vector<float> download(Buffer b, size_t n) {
    std::vector<float> v(n);
    device_->read_buffer(b, 0, v.data(), n * sizeof(float));
    return v;
  }
  static BufferView all(Buffer b) { return {b, 0, 0}; }

  static inline Device* device_ = nullptr;
  static inline std::string why_;
  std::unique_ptr<Kernels> kernels_;
  std::vector<Buffer> owned_;
};

}  // namespace webaccel::gpu
