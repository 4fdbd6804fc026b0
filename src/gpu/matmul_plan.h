// How a matmul or embedding gather over a GPU-resident matrix is dispatched: the workgroup tiling
// (override constants of matmul.wgsl) and the row ranges a matrix larger than one storage binding
// (or than one grid dimension) is split into.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "gpu/weight_layout.h"

namespace webaccel::gpu {

struct MatmulTiling {
  uint32_t wg = 128;  // threads per workgroup, striding over a row's 16-byte units
  uint32_t rows = 4;  // rows per workgroup, fixed by matmul.wgsl (each thread covers all four: x reuse)
  uint32_t tok = 1;   // tokens per workgroup, 1 or 4 (each weight unit reused across them)
};
MatmulTiling matmul_tiling(const GpuFormat& f, uint64_t cols, uint32_t tokens, bool subgroups);
// bench/gpu tries other workgroup sizes: a nonzero wg replaces the chosen one (0: none).
void override_tiling_for_tuning(const MatmulTiling& t);

// gemv.wgsl's tiling for a quantized single-token product, or none where matmul.wgsl runs it
// (float formats, no subgroups, rows wider than 4 units per thread of a 256-thread workgroup).
struct GemvTiling {
  uint32_t wg = 128;       // threads per workgroup, together covering a row's units
  uint32_t upt = 1;        // units per thread and row (each thread's x stays in registers)
  uint32_t row_quads = 4;  // rows per workgroup / 4
  uint32_t step_quads = 2; // quads whose loads are issued together (divides row_quads)
  bool hoist = true;       // the first step's loads issued before x is prepared
  bool prefetch = false;   // each step's loads issued a step ahead
  uint32_t grid = 0;       // most workgroups dispatched, each looping over tiles (0: one per tile)
  uint32_t rows() const { return 4 * row_quads; }
  uint32_t workgroups(uint64_t rows_in_range) const;
};
// int8_x: the kernel composed with lib_gemv_i8x.wgsl (x costs a quarter of the registers).
std::optional<GemvTiling> gemv_tiling(const GpuFormat& f, uint64_t rows, uint64_t cols, bool subgroups,
                                      bool int8_x = false);
// bench/gpu tries other tilings: nonzero fields replace the chosen ones; `off` forces matmul.wgsl.
struct GemvTuning {
  uint32_t wg = 0, upt_max = 0, row_quads = 0, step_quads = 0;
  bool off = false;
  uint32_t grid = 0;
};
void override_gemv_for_tuning(const GemvTuning& t);

// Rows [row0, row0 + rows) and where each plane's binding starts: a 256-aligned byte offset plus
// the remainder in the kernel's element units (codes vec4, hi vec2, scales u32 / f16 / vec4).
struct RowRange {
  uint64_t row0 = 0, rows = 0;
  uint64_t codes_offset = 0, codes_bytes = 0, codes_base = 0;
  uint64_t hi_offset = 0, hi_bytes = 0, hi_base = 0;
  uint64_t scales_offset = 0, scales_bytes = 0, scales_base = 0;
};
// Ranges of at most `max_rows` rows whose bindings stay within `binding_limit` bytes; empty when a
// single row does not fit.
std::vector<RowRange> split_rows(const GpuFormat& f, uint64_t rows, uint64_t cols, uint64_t binding_limit,
                                 uint64_t max_rows);

// Tests run the workgroup-memory reduction on devices that have subgroups.
void disable_subgroups_for_testing(bool disable);
bool use_subgroups(bool device_has_them);

// gemv.wgsl's x as int8 with dot4I8Packed where the device has the WGSL feature; tests and
// WEBACCEL_GPU_DOT4=0 (A/B timing) keep it f32.
void disable_int8_x_for_testing(bool disable);
bool use_int8_x(bool device_has_dot4);

// Tests force splitting of small matrices: a binding limit below the device's (0 restores it).
void set_binding_limit_for_testing(uint64_t bytes);
uint64_t binding_limit(uint64_t device_limit);

}  // namespace webaccel::gpu
