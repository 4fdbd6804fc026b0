#include "models/bert_weights.h"

#include <algorithm>

#include "core/error.h"
#include "cpu/quant_blocks.h"

namespace webaccel {
namespace {

GgmlType ggml_type_of(SafetensorsDtype d) {
  switch (d) {
    case SafetensorsDtype::kF16: return GgmlType::kF16;
    case SafetensorsDtype::kBF16: return GgmlType::kBF16;
    default: return GgmlType::kF32;
  }
}

}  // namespace

BertWeights::BertWeights(MappedFile safetensors)
    : safetensors_(std::make_unique<SafetensorsFile>(std::move(safetensors))), path_(safetensors_->path()) {
  for (const auto& t : safetensors_->tensors()) {
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back({t.name, ggml_type_of(t.dtype), t.shape, t.data, t.n_bytes, t.n_elements});
  }
}

BertWeights::BertWeights(std::shared_ptr<const GgufFile> package) : package_(std::move(package)), path_(package_->path()) {
  for (const auto& t : package_->tensors()) {
    std::vector<uint64_t> shape(t.shape.rbegin(), t.shape.rend());  // GGUF order -> row-major
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back({t.name, t.type, std::move(shape), t.data, t.n_bytes, t.n_elements});
  }
}

const BertTensor* BertWeights::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const BertTensor& BertWeights::tensor(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  if (safetensors_) safetensors_->tensor(name);  // names the unsupported dtype, if that is why
  fail(ErrorKind::kFormat, path_ + ": tensor '" + std::string(name) + "' is missing");
}

std::vector<float> BertWeights::to_f32(const BertTensor& t) const {
  if (safetensors_) return safetensors_->to_f32(safetensors_->tensor(t.name));
  std::vector<float> out(t.n_elements);
  const size_t row = t.shape.empty() ? 1 : static_cast<size_t>(t.shape.back());
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(t.type));
  const size_t row_bytes = row / traits.block_elems * traits.block_bytes;
  for (size_t r = 0; r * row < out.size(); ++r) cpu::reference::dequantize_row(t.type, t.data + r * row_bytes, out.data() + r * row, row);
  return out;
}

}  // namespace webaccel
