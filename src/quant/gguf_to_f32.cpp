#include "quant/gguf_to_f32.h"

#include <filesystem>

#include "core/error.h"
#include "cpu/quant_blocks.h"
#include "format/gguf_writer.h"

namespace webaccel::quant {

F32ConversionStats convert_gguf_to_f32(const GgufFile& in, const std::string& out_path) {
  std::vector<GgufWriteEntry> metadata;
  for (const auto& [key, value] : in.metadata()) {
    // ggml's file-type id 0 is "all F32"; keeping the input's id would describe weights no longer there.
    const bool file_type = key == "general.file_type";
    metadata.push_back({key, in.value_type(key), file_type ? GgufValue{uint64_t{0}} : value});
  }
  F32ConversionStats stats;
  std::vector<GgufWriteTensor> tensors;
  for (const auto& t : in.tensors()) {
    ++stats.tensors;
    stats.dequantized += t.type != GgmlType::kF32;
    tensors.push_back({t.name, t.shape, GgmlType::kF32, [&in, &t](std::vector<uint8_t>& out) {
                         const size_t row = t.shape[0], rows = t.n_elements / row;
                         const size_t row_bytes = t.n_bytes / rows;
                         out.resize(t.n_elements * sizeof(float));
                         auto* dst = reinterpret_cast<float*>(out.data());
                         try {
                           for (size_t r = 0; r < rows; ++r) cpu::reference::dequantize_row(t.type, t.data + r * row_bytes, dst + r * row, row);
                         } catch (const Error& e) {
                           fail(ErrorKind::kFormat, in.path() + ": tensor '" + t.name + "': " + e.what());
                         }
                       }});
  }
  write_gguf(out_path, metadata, tensors, in.alignment());
  stats.output_bytes = std::filesystem::file_size(out_path);
  return stats;
}

}  // namespace webaccel::quant
