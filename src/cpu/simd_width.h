// WEBACCEL_CPU_SIMD caps the vector width the native CPU kernels dispatch to, so the native engine
// can be measured at the browser's 128-bit SIMD width (bench/browser/run_bench.mjs --native-simd):
//   WEBACCEL_CPU_SIMD=128   SSE4 (Highway's AVX2 and AVX-512 targets off, the AVX-512 VNNI paths too)
//   WEBACCEL_CPU_SIMD=256   AVX2 at most
//   WEBACCEL_CPU_SIMD=512 or unset: the best target the CPU has
// Read once, before the first kernel dispatch (cpu/quant_kernels_simd.cpp calls this while the
// program starts). Ignored in the wasm build, whose only width is 128.
#pragma once

namespace webaccel::cpu {

// Applies the variable; prints what it expected and exits with status 2 on any other value.
bool apply_simd_width_from_env();

}  // namespace webaccel::cpu
