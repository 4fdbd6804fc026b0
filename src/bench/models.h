// The models `webaccel bench` knows, and what precision a model file holds.
#pragma once

#include <string>
#include <vector>

namespace webaccel::bench {

struct ModelSpec {
  std::string name;        // as given on the command line: smollm2, minilm
  std::string arch;        // llama | bert
  std::string model_type;  // the guide's model_type: text-generation | text-embedding
  std::string path;        // GGUF file or sentence-transformers folder
};

// Error(kUsage) listing the known names for an unknown one.
ModelSpec find_model(const std::string& name, const std::string& models_dir);
std::vector<std::string> known_model_names();

struct PrecisionInfo {
  std::string name;    // the dominant weight type, lower case: q4_1, f32, ...
  int bits = 0;        // its nominal bits per weight
  double weights_mb = 0;  // all tensors, as stored
};
PrecisionInfo inspect_precision(const ModelSpec& model);  // reads only the file headers

}  // namespace webaccel::bench
