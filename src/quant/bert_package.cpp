#include "quant/bert_package.h"

#include "format/package.h"
#include "models/bert_metadata.h"
#include "quant/bert_quantizer.h"

namespace webaccel::quant {

nlohmann::json quantize_bert_package(const std::string& in_dir, const std::string& out_dir, const QuantizeOptions& o,
                                     const std::vector<std::string>& calibration, ThreadPool& pool) {
  BertModel model(in_dir);
  auto q = quantize_bert(model, o, calibration, pool);
  q.stats["source"] = in_dir;  // the folder, which `eval` compares with by default
  BertPackageMetadata metadata;
  bert_package_metadata(model, metadata);
  write_package(out_dir, metadata.values, q.tensors, q.stats);
  return q.stats;
}

}  // namespace webaccel::quant
