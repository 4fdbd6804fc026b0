// `webaccel info`: what a model file holds: metadata, tensor table, memory.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "format/gguf.h"
#include "format/package.h"
#include "format/safetensors.h"

namespace webaccel::cli {
namespace {

struct InfoOptions {
  std::string model;
  bool tensors = true;
};

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void print_gguf(const GgufFile& g, bool tensors) {
  std::printf("file: %s\nformat: GGUF v%u, alignment %llu, %zu metadata keys, %zu tensors, %.2f MiB\n\nmetadata:\n",
              g.path().c_str(), g.version(), static_cast<unsigned long long>(g.alignment()), g.metadata().size(),
              g.tensors().size(), static_cast<double>(g.file_size()) / (1 << 20));
  for (const auto& [key, value] : g.metadata()) std::printf("  %-40s %s\n", key.c_str(), gguf_value_to_string(value).c_str());
  std::map<std::string, std::pair<size_t, uint64_t>> by_type;  // type -> (count, bytes)
  uint64_t total = 0, params = 0;
  if (tensors) std::printf("\ntensors:\n  %-32s %-6s %-16s %12s\n", "name", "type", "shape", "bytes");
  for (const auto& t : g.tensors()) {
    auto& e = by_type[std::string(ggml_type_name(t.type))];
    ++e.first;
    e.second += t.n_bytes;
    total += t.n_bytes;
    params += t.n_elements;
    if (tensors) {
      std::printf("  %-32s %-6s %-16s %12llu\n", t.name.c_str(), std::string(ggml_type_name(t.type)).c_str(),
                  shape_string(t.shape).c_str(), static_cast<unsigned long long>(t.n_bytes));
    }
  }
  std::printf("\nmemory: %.2f M parameters, %.2f MiB of weights (%.3f bits per weight), mapped read-only, not copied\n",
              static_cast<double>(params) / 1e6, static_cast<double>(total) / (1 << 20),
              8.0 * static_cast<double>(total) / static_cast<double>(params));
  for (const auto& [type, e] : by_type) {
    std::printf("  %-6s %4zu tensors %10.2f MiB\n", type.c_str(), e.first, static_cast<double>(e.second) / (1 << 20));
  }
}

void print_safetensors(const SafetensorsFile& f, bool tensors) {
  uint64_t total = 0, params = 0;
  std::printf("file: %s\nformat: safetensors, %zu tensors\n", f.path().c_str(), f.tensors().size());
  for (const auto& [k, v] : f.metadata()) std::printf("  %-40s %s\n", k.c_str(), v.c_str());
  if (tensors) std::printf("\ntensors:\n  %-52s %-5s %-14s %12s\n", "name", "dtype", "shape", "bytes");
  for (const auto& t : f.tensors()) {
    total += t.n_bytes;
    params += t.n_elements;
    if (tensors) {
      std::printf("  %-52s %-5s %-14s %12llu\n", t.name.c_str(), std::string(safetensors_dtype_name(t.dtype)).c_str(),
                  shape_string(t.shape).c_str(), static_cast<unsigned long long>(t.n_bytes));
    }
  }
  for (const auto& [name, dtype] : f.skipped_tensors()) std::printf("  %-52s %-5s (not used)\n", name.c_str(), dtype.c_str());
  std::printf("\nmemory: %.2f M parameters, %.2f MiB of weights\n", static_cast<double>(params) / 1e6,
              static_cast<double>(total) / (1 << 20));
}

void run_info(const InfoOptions& o) {
  std::string path = o.model;
  if (is_package_dir(path)) {
    print_gguf(PackageFile(path), o.tensors);
    return;
  }
  if (std::filesystem::is_directory(path)) path += "/model.safetensors";
  if (path.ends_with(".safetensors")) {
    print_safetensors(SafetensorsFile(path), o.tensors);
  } else {
    print_gguf(GgufFile(path), o.tensors);
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "Show a model file's metadata, tensor table and memory use");
  cmd->add_option("model", o->model, "GGUF file, .safetensors file, or model folder")->required();
  cmd->add_flag("--tensors,!--no-tensors", o->tensors, "list every tensor (default on)");
  cmd->callback([o] { run_info(*o); });
}

}  // namespace webaccel::cli
