#include "gpu/matmul_plan.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace webaccel::gpu {
namespace {

constexpr uint64_t kOffsetAlignment = 256;  // minStorageBufferOffsetAlignment's largest allowed value
constexpr uint32_t kMaxWorkgroupReduceFloats = 8192;  // lib_reduce_workgroup.wgsl's partials

uint64_t testing_limit = 0;
bool testing_no_subgroups = false;
bool testing_no_int8_x = false;
MatmulTiling tuning{0, 0, 0};
GemvTuning gemv_tuning;
constexpr uint32_t kGemvMaxWg = 256;            // WebGPU's default maxComputeInvocationsPerWorkgroup
constexpr uint32_t kGemvXFloatsPerThread = 64;  // x kept in registers per thread
constexpr uint32_t kGemvMaxUpt = 4;             // gemv.wgsl's xa..xd
constexpr uint32_t kSubgroupReduceFloats = 2048;  // lib_reduce_subgroup.wgsl's partials
constexpr uint32_t kMinSubgroupSize = 4;

uint32_t pow2_floor(uint64_t n) {
  uint32_t p = 1;
  while (uint64_t{p} * 2 <= n) p *= 2;
  return p;
}

// A binding of `bytes` starting at byte `start` of its buffer: aligned offset, remainder, size.
void place(uint64_t start, uint64_t bytes, uint64_t element, uint64_t& offset, uint64_t& size, uint64_t& base) {
  offset = start / kOffsetAlignment * kOffsetAlignment;
  base = (start - offset) / element;
  size = (start - offset + bytes + 3) / 4 * 4;
}

// WEBACCEL_GPU_GEMV_GRID=N caps the GEMV's workgroups at N, each looping over row tiles (for
// timing grid sizes on a real GPU: WebGPU does not say how many compute units there are).
uint32_t gemv_grid_from_env() {
  static const uint32_t grid = [] {
    const char* e = std::getenv("WEBACCEL_GPU_GEMV_GRID");
    return e && *e ? static_cast<uint32_t>(std::strtoul(e, nullptr, 10)) : 0u;
  }();
  return grid;
}

}  // namespace

MatmulTiling matmul_tiling(const GpuFormat& f, uint64_t cols, uint32_t tokens, bool subgroups) {
  MatmulTiling t;
  t.tok = tokens == 1 ? 1 : 4;   // two pipelines per format: decode (GEMV) and prefill
  t.rows = 4;                    // matmul.wgsl's ROWS: one vec4 lane per row
  const uint64_t units = cols / unit_weights(f.bits);
  // No idle threads on narrow rows; 128 beat 256 on 16384-wide rows on an H200 (docs/benchmarks.md).
  t.wg = std::clamp<uint32_t>(pow2_floor(units), 32, 128);
  if (tuning.wg) t.wg = tuning.wg;
  if (!subgroups) t.wg = std::min(t.wg, kMaxWorkgroupReduceFloats / (t.rows * t.tok));
  return t;
}

std::optional<GemvTiling> gemv_tiling(const GpuFormat& f, uint64_t rows, uint64_t cols, bool subgroups, bool int8_x) {
  if (!subgroups || f.bits > 8 || gemv_tuning.off) return std::nullopt;
  const uint32_t unit = unit_weights(f.bits);
  const uint64_t units = cols / unit;
  const bool tall = rows >= 8192, short_rows = cols <= 4096;
  // 4 bits, int8 x, tall matrices with short rows: one unit per thread and 8 rows per step beat
  // two units and 4 rows (22016x4096: 2204 vs 2010 GB/s on an H200, docs/benchmarks.md).
  // Their rows are 32 per workgroup, two quads per step (12288x4096: +22%, 14336x4096: +10%).
  const bool one_unit = int8_x && f.bits == 4 && tall && short_rows;
  // 2 and 3 bits likewise take 32 rows, two quads per step (12288x4096: +31-34%, 22016x4096: +20%,
  // H200 tuning after the scale words moved to the loads, docs/benchmarks.md).
  const bool low_bit_tall = int8_x && f.bits <= 3 && tall && short_rows;
  // 8 bits, int8 x, rows of 2048-4096 columns: two units per thread, 8 rows, one quad per step
  // (+10-13% over four units and two quads from 4096x4096 to 22016x4096, H200).
  const bool wq8_two_units = int8_x && f.bits == 8 && short_rows && cols >= 2048;
  uint32_t upt_max = one_unit        ? 1
                     : wq8_two_units ? 2
                                     : std::clamp<uint32_t>(kGemvXFloatsPerThread / unit, 1, kGemvMaxUpt);
  if (gemv_tuning.upt_max) upt_max = gemv_tuning.upt_max;
  GemvTiling t;
  t.wg = 32;  // the fewest threads that cover the row with at most upt_max units each
  while (t.wg < kGemvMaxWg && uint64_t{t.wg} * upt_max < units) t.wg *= 2;
  if (gemv_tuning.wg) t.wg = gemv_tuning.wg;
  t.upt = static_cast<uint32_t>((units + t.wg - 1) / t.wg);
  if (t.upt > kGemvMaxUpt) return std::nullopt;
  t.upt = std::max<uint32_t>(t.upt, 1);
  // 32 rows per workgroup on tall matrices, 8 below 8192 rows so a big GPU still gets enough
  // workgroups; loads of about four units per thread in flight per step (H200, docs/benchmarks.md).
  // Tall with short rows (<= 4096 columns, 7B's qkv and gate|up): 16 rows, one quad per step, as
  // the tuning of those shapes found (0-29% more GB/s at 2, 4 and 8 bits).
  // Short matrices with long rows (4096x11008, 4096x14336: 7B's down): 16 rows, one quad per step
  // where a thread has at most 3 units (H200: +8-48% at 2-4 bits, +11-19% at 8 with 3 units; -16%
  // with 4, WQ8 4096x14336).
  const bool long_rows_4096 = !tall && !short_rows && rows >= 4096 && t.upt <= 3;
  const bool one_quad_steps = (tall && short_rows) || long_rows_4096 || wq8_two_units;
  t.row_quads = one_unit || low_bit_tall || (tall && !short_rows) ? 8 : wq8_two_units ? 2 : tall || long_rows_4096 ? 4 : 2;
  if (gemv_tuning.row_quads) t.row_quads = gemv_tuning.row_quads;
  // Every subgroup's row totals must fit the reduction's workgroup memory.
  while (t.row_quads > 1 && t.wg / kMinSubgroupSize * t.rows() > kSubgroupReduceFloats) t.row_quads /= 2;
  const uint32_t step = one_unit || low_bit_tall ? 2 : one_quad_steps ? 1 : t.upt == 1 ? 4 : 2;
  t.step_quads = std::min<uint32_t>(gemv_tuning.step_quads ? gemv_tuning.step_quads : step, t.row_quads);
  if (t.row_quads % t.step_quads != 0) t.step_quads = 1;
  // Loading the first step before preparing x gained 6-7% where a step is at most 4 units per
  // thread, and lost 30% at 6 (WQ8 4096x11008, upt 3 x 2 quads: registers; H200, docs/benchmarks.md).
  t.hoist = t.upt * t.step_quads <= 4;
  // Loading each step a step ahead, with int8 x, gained 1-12% below 8 bits and on 8-bit rows longer
  // than 4096 with at most 3 units a thread (+24%), and lost 5-11% on 8-bit 4096-column rows (H200);
  // with f32 x (four times the registers for x) it lost (session 4, docs/benchmarks.md).
  t.prefetch = int8_x && (f.bits < 8 || (!short_rows && t.upt <= 3));
  t.grid = gemv_tuning.grid ? gemv_tuning.grid : gemv_grid_from_env();
  return t;
}

uint32_t GemvTiling::workgroups(uint64_t rows_in_range) const {
  const uint64_t tiles = (rows_in_range + rows() - 1) / rows();
  return static_cast<uint32_t>(grid ? std::min<uint64_t>(tiles, grid) : tiles);
}

void override_gemv_for_tuning(const GemvTuning& t) { gemv_tuning = t; }

std::vector<RowRange> split_rows(const GpuFormat& f, uint64_t rows, uint64_t cols, uint64_t binding_limit,
                                 uint64_t max_rows) {
  const RowBytes rb = row_bytes(f, cols);
  const uint64_t widest = std::max({rb.codes, rb.hi, rb.scales});
  // The aligned-down start costs at most 255 bytes, the 4-byte rounding 3 more.
  if (binding_limit < kOffsetAlignment + 4 + widest) return {};
  const uint64_t per_range = std::min(max_rows, (binding_limit - kOffsetAlignment - 4) / widest);
  std::vector<RowRange> out;
  for (uint64_t row0 = 0; row0 < rows; row0 += per_range) {
    RowRange r;
    r.row0 = row0;
    r.rows = std::min(per_range, rows - row0);
    place(row0 * rb.codes, r.rows * rb.codes, 16, r.codes_offset, r.codes_bytes, r.codes_base);
    if (rb.hi) place(rows * rb.codes + row0 * rb.hi, r.rows * rb.hi, 8, r.hi_offset, r.hi_bytes, r.hi_base);
    const uint64_t scale_element = f.superblock ? 16 : f.symmetric ? 2 : 4;
    if (rb.scales) {
      place(row0 * rb.scales, r.rows * rb.scales, scale_element, r.scales_offset, r.scales_bytes, r.scales_base);
    }
    out.push_back(r);
  }
  return out;
}

void override_tiling_for_tuning(const MatmulTiling& t) { tuning = t; }

void disable_subgroups_for_testing(bool disable) { testing_no_subgroups = disable; }
bool use_subgroups(bool device_has_them) { return device_has_them && !testing_no_subgroups; }

void disable_int8_x_for_testing(bool disable) { testing_no_int8_x = disable; }
bool use_int8_x(bool device_has_dot4) {
  static const bool env_off = [] {
    const char* e = std::getenv("WEBACCEL_GPU_DOT4");
    return e && std::string_view(e) == "0";
  }();
  return device_has_dot4 && !testing_no_int8_x && !env_off;
}

void set_binding_limit_for_testing(uint64_t bytes) { testing_limit = bytes; }

uint64_t binding_limit(uint64_t device_limit) {
  return testing_limit ? std::min(testing_limit, device_limit) : device_limit;
}

}  // namespace webaccel::gpu
