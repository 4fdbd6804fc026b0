#include "bench/models.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/error.h"
#include "format/gguf.h"
#include "format/package.h"
#include "format/safetensors.h"

namespace webaccel::bench {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

int nominal_bits(std::string name) {
  if (name == "f32") return 32;
  if (name == "f16" || name == "bf16") return 16;
  // q4_1, q8_0, q6_k, wq3_g64: the digit after the letters is the bit width.
  const auto digit = std::find_if(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  return digit == name.end() ? 0 : *digit - '0';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::vector<std::string> known_model_names() { return {"smollm2", "minilm"}; }

ModelSpec find_model(const std::string& name, const std::string& models_dir) {
  if (name == "smollm2") return {name, "llama", "text-generation", models_dir + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"};
  if (name == "minilm") return {name, "bert", "text-embedding", models_dir + "/minilm"};
  fail(ErrorKind::kUsage, "--models: unknown model '" + name + "' (known: " + join(known_model_names()) + ", or all)");
}

PrecisionInfo inspect_precision(const ModelSpec& model) {
  std::map<std::string, double> bytes_by_type;
  double total = 0;
  if (model.arch == "llama") {
    const auto f = open_model_file(model.path);  // a GGUF or a webaccel package folder
    for (const auto& t : f->tensors()) {
      if (t.shape.size() >= 2) bytes_by_type[lower(ggml_type_name(t.type))] += static_cast<double>(t.n_bytes);
      total += static_cast<double>(t.n_bytes);
    }
  } else {
    const SafetensorsFile f(model.path + "/model.safetensors");
    for (const auto& t : f.tensors()) {
      if (t.shape.size() >= 2) bytes_by_type[lower(safetensors_dtype_name(t.dtype))] += static_cast<double>(t.n_bytes);
      total += static_cast<double>(t.n_bytes);
    }
  }
  if (bytes_by_type.empty()) fail(ErrorKind::kFormat, model.path + ": no weight matrices");
  const auto dominant = std::max_element(bytes_by_type.begin(), bytes_by_type.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
  return {dominant->first, nominal_bits(dominant->first), total / (1024.0 * 1024.0)};
}

}  // namespace webaccel::bench
