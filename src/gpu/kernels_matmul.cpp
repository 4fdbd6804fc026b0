// The matmul side of the kernel library: weight upload in the GPU layout (gpu/weight_layout.h),
// GEMV / token-tiled GEMM (matmul.wgsl) and the embedding gather (embed.wgsl), split into row
// ranges where a matrix exceeds one storage binding. Params structs mirror the WGSL `Params`.
#include <cstdio>

#include "gpu/kernel_sources.h"
#include "gpu/kernels.h"
#include "gpu/matmul_plan.h"
#include "gpu/weight_layout.h"

namespace webaccel::gpu {
namespace {

constexpr uint32_t kEmbedWg = 64;

struct MatmulParams {
  uint32_t n_rows, cols, tokens, y_stride, y_row0, flags, code_base, hi_base, scale_base;
  float x_eps = 0;
  uint32_t pad[2] = {0, 0};
};
struct EmbedParams {
  uint32_t range_row0, n_rows, cols, tokens, code_base, hi_base, scale_base;
  uint32_t pad = 0;
};
constexpr uint32_t kFlagBias = 1, kFlagAccumulate = 2;

std::string constant_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string compose(std::initializer_list<std::string_view> families) {
  std::string s;
  for (auto f : families) {
    const std::string_view text = kernel_source(f);
    if (text.empty()) fail(ErrorKind::kInternal, "gpu: no WGSL file '" + std::string(f) + "' (src/gpu/wgsl/)");
    s += text;
  }
  return s;
}

// Kernels::get for a source composed of several files (the key names the composition).
Pipeline composed_pipeline(Device& device, bool collecting, std::vector<PipelineDesc>& collected, std::string key,
                           std::initializer_list<std::string_view> files,
                           std::vector<std::pair<std::string, double>> constants) {
  for (const auto& [name, value] : constants) key += ":" + name + "=" + constant_text(value);
  if (!collecting && device.has_pipeline(key)) return device.pipeline(PipelineDesc{key, {}, "main", {}});
  PipelineDesc desc{key, compose(files), "main", std::move(constants)};
  if (collecting) {
    for (const auto& d : collected) {
      if (d.key == desc.key) return {};
    }
    collected.push_back(std::move(desc));
    return {};
  }
  return device.pipeline(desc);
}

std::vector<std::pair<std::string, double>> format_constants(const GpuFormat& f) {
  return {{"bits", f.bits}, {"group", f.superblock ? 16 : std::max<uint32_t>(f.group, 1)},
          {"symmetric", f.symmetric ? 1 : 0}, {"superblock", f.superblock ? 1 : 0}};
}

GpuFormat resident_format(const GpuMatrix& w) {
  const auto f = gpu_format(w.type, w.cols);
  if (!f) fail(ErrorKind::kInternal, "gpu: matrix of type " + std::string(ggml_type_name(w.type)) + " not in a GPU layout");
  return *f;
}

std::vector<RowRange> ranges_for(const GpuMatrix& w, const GpuFormat& f, const DeviceInfo& info, uint64_t rows_per_group) {
  const uint64_t max_groups = info.max_compute_workgroups_per_dimension ? info.max_compute_workgroups_per_dimension : 65535;
  auto ranges = split_rows(f, w.rows, w.cols, binding_limit(info.max_storage_buffer_binding_size),
                           max_groups * rows_per_group);
  if (ranges.empty()) fail(ErrorKind::kInternal, "gpu: a row of a " + std::to_string(w.rows) + "x" +
                                                     std::to_string(w.cols) + " matrix exceeds one storage binding");
  return ranges;
}

// Bindings 1..3 of matmul.wgsl / embed.wgsl: codes, high plane (codes again unless 3-bit) and
// scales (codes again for float formats).
void plane_views(const GpuMatrix& w, const RowRange& r, BufferView* out) {
  out[0] = BufferView{w.codes, r.codes_offset, r.codes_bytes};
  out[1] = r.hi_bytes ? BufferView{w.codes, r.hi_offset, r.hi_bytes} : out[0];
  out[2] = r.scales_bytes ? BufferView{w.scales, r.scales_offset, r.scales_bytes} : out[0];
}

}  // namespace

GpuMatrix Kernels::upload(const cpu::WeightMatrix& m, const std::string& name) {
  const PackedMatrix p = pack_matrix(m);
  const uint32_t unit = unit_weights(p.format.bits);
  if (m.cols % unit != 0) {
    fail(ErrorKind::kFormat, "gpu: tensor '" + name + "': " + std::to_string(m.cols) + " columns of " +
                                 std::string(ggml_type_name(p.type)) + " are not a multiple of " +
                                 std::to_string(unit) + " (the GPU kernels' 16-byte units)");
  }
  const RowBytes rb = row_bytes(p.format, p.cols);
  const uint64_t limit = binding_limit(device_.info().max_storage_buffer_binding_size);
  if (split_rows(p.format, p.rows, p.cols, limit, p.rows).empty()) {
    fail(ErrorKind::kFormat, "gpu: tensor '" + name + "': one row (" + std::to_string(rb.codes) +
                                 " bytes of codes) exceeds maxStorageBufferBindingSize " + std::to_string(limit));
  }
  GpuMatrix g;
  g.type = p.type;
  g.rows = static_cast<uint32_t>(p.rows);
  g.cols = static_cast<uint32_t>(p.cols);
  g.codes = device_.create_buffer(p.codes.size(), name + " codes");
  device_.write_buffer(g.codes, 0, p.codes.data(), p.codes.size());
  if (!p.scales.empty()) {
    g.scales = device_.create_buffer(p.scales.size(), name + " scales");
    device_.write_buffer(g.scales, 0, p.scales.data(), p.scales.size());
  }
  g.weight_bytes = p.codes.size() + p.rows * rb.scales;
  return g;
}

Buffer Kernels::upload_f32(const float* data, size_t n, const std::string& name) {
  Buffer b = device_.create_buffer(n * sizeof(float), name);
  device_.write_buffer(b, 0, data, n * sizeof(float));
  return b;
}

namespace {

MatmulParams matmul_params(const GpuMatrix& w, const RowRange& r, uint32_t tokens, bool bias, bool accumulate,
                           float eps = 0) {
  return MatmulParams{static_cast<uint32_t>(r.rows),
                      w.cols,
                      tokens,
                      w.rows,
                      static_cast<uint32_t>(r.row0),
                      (bias ? kFlagBias : 0) | (accumulate ? kFlagAccumulate : 0),
                      static_cast<uint32_t>(r.codes_base),
                      static_cast<uint32_t>(r.hi_base),
                      static_cast<uint32_t>(r.scales_base),
                      eps};
}

}  // namespace

void Kernels::matmul(const GpuMatrix& w, BufferView x, BufferView y, uint32_t tokens, const BufferView* bias,
                     bool accumulate) {
  if (tokens == 0 || w.rows == 0) return;
  const GpuFormat f = resident_format(w);
  const DeviceInfo& info = device_.info();
  const bool subgroups = use_subgroups(info.subgroups);
  if (tokens == 1 && gemv_tiling(f, w.rows, w.cols, subgroups, use_int8_x(info.packed_dot4))) {
    gemv(w, GemvInput::kX, x, x, 0, y, bias, accumulate);
    return;
  }
  const MatmulTiling t = matmul_tiling(f, w.cols, tokens, subgroups);
  auto constants = format_constants(f);
  constants.insert(constants.end(), {{"wg", t.wg}, {"tok", t.tok}});
  const Pipeline p = composed_pipeline(
      device_, collecting_, collected_, subgroups ? "matmul:reduce=subgroup" : "matmul:reduce=workgroup",
      {subgroups ? "lib_reduce_subgroup" : "lib_reduce_workgroup", "lib_quant_decode", "lib_matmul_io", "matmul"},
      std::move(constants));
  if (collecting_) return;
  for (const RowRange& r : ranges_for(w, f, info, t.rows)) {
    BufferView views[6];
    plane_views(w, r, views);
    views[3] = x;
    views[4] = bias ? *bias : x;  // x again when unused: read-only bindings may alias
    views[5] = y;
    run(p, as_params(matmul_params(w, r, tokens, bias, accumulate)), views,
        static_cast<uint32_t>((r.rows + t.rows - 1) / t.rows), (tokens + t.tok - 1) / t.tok);
  }
}

bool Kernels::gemv_fusable(const GpuMatrix& w) const {
  const DeviceInfo& info = device_.info();
  return w.rows &&
         gemv_tiling(resident_format(w), w.rows, w.cols, use_subgroups(info.subgroups), use_int8_x(info.packed_dot4));
}

void Kernels::gemv_rms_normed(const GpuMatrix& w, BufferView x, BufferView norm, float eps, BufferView y,
                              bool accumulate) {
  gemv(w, GemvInput::kRmsNormed, x, norm, eps, y, nullptr, accumulate);
}

void Kernels::gemv_gated(const GpuMatrix& w, BufferView gate_up, BufferView y, bool accumulate) {
  gemv(w, GemvInput::kGated, gate_up, gate_up, 0, y, nullptr, accumulate);
}

void Kernels::gemv(const GpuMatrix& w, GemvInput input, BufferView x, BufferView aux, float eps, BufferView y,
                   const BufferView* bias, bool accumulate) {
  if (w.rows == 0) return;
  const GpuFormat f = resident_format(w);
  const DeviceInfo& info = device_.info();
  const bool int8_x = use_int8_x(info.packed_dot4);
  const auto t = gemv_tiling(f, w.rows, w.cols, use_subgroups(info.subgroups), int8_x);
  if (!t) fail(ErrorKind::kInternal, "gpu: no single-token kernel for a " + std::string(ggml_type_name(w.type)) + " matrix");
  auto constants = format_constants(f);
  constants.insert(constants.end(), {{"wg", t->wg},
                                     {"upt", t->upt},
                                     {"row_quads", t->row_quads},
                                     {"step_quads", t->step_quads},
                                     {"hoist", t->hoist ? 1 : 0},
                                     {"prefetch", t->prefetch ? 1 : 0},
                                     {"x_mode", static_cast<uint32_t>(input)}});
  const Pipeline p = composed_pipeline(
      device_, collecting_, collected_, int8_x ? "gemv:x=i8" : "gemv:x=f32",
      {"lib_reduce_subgroup", "lib_quant_decode", "lib_matmul_io", int8_x ? "lib_gemv_i8x" : "lib_gemv_f32x", "gemv"},
      std::move(constants));
  if (collecting_) return;
  for (const RowRange& r : ranges_for(w, f, info, t->rows())) {
    BufferView views[7];
    plane_views(w, r, views);
    views[3] = x;
    views[4] = bias ? *bias : x;  // x again when unused: read-only bindings may alias
    views[5] = y;
    views[6] = aux;
    run(p, as_params(matmul_params(w, r, 1, bias, accumulate, eps)), views, t->workgroups(r.rows));
  }
}

void Kernels::embed_rows(const GpuMatrix& table, BufferView ids, BufferView out, uint32_t tokens) {
  if (tokens == 0) return;
  const GpuFormat f = resident_format(table);
  auto constants = format_constants(f);
  constants.emplace_back("wg", kEmbedWg);
  const Pipeline p = composed_pipeline(device_, collecting_, collected_, "embed", {"lib_quant_decode", "embed"},
                                       std::move(constants));
  if (collecting_) return;
  const uint32_t units = table.cols / unit_weights(f.bits);
  // The gather reads one row per token: any row count fits the grid (x: units, y: tokens).
  for (const RowRange& r : ranges_for(table, f, device_.info(), UINT32_MAX)) {
    const EmbedParams params{static_cast<uint32_t>(r.row0),      static_cast<uint32_t>(r.rows),
                             table.cols,                         tokens,
                             static_cast<uint32_t>(r.codes_base), static_cast<uint32_t>(r.hi_base),
                             static_cast<uint32_t>(r.scales_base)};
    BufferView views[5];
    plane_views(table, r, views);
    views[3] = ids;
    views[4] = out;
    run(p, as_params(params), views, (units + kEmbedWg - 1) / kEmbedWg, tokens);
  }
}

}  // namespace webaccel::gpu
