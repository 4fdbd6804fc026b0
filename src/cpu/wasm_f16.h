// fp16 to f32 for the wasm SIMD kernels of the attention (cpu/quant_kernels_simd.cpp,
// cpu/vector_kernels_simd.cpp): eight halves (one v128) as two f32x4 holding exactly 2^-112 times
// the floats Highway's wasm PromoteTo makes of them (every finite half exactly; exponent 31 as
// 2^16 * 1.m, as PromoteTo has it): the sign and magnitude bits shifted into float position, four
// operations a vector where PromoteTo takes about fifteen. Callers put 2^112 into the other factor
// (exact while it is below 2^16 in magnitude), so every product is the same real number as with
// PromoteTo and rounds to the same float: results are bit for bit those of the kernels they batch.
#pragma once

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include <cmath>

namespace webaccel::cpu::wasm_f16 {

constexpr float kUp = 0x1p112f;

// The other factor times 2^112 is exact (no overflow) for |x| < 2^16, and for infinities and NaN.
inline bool scalable(float x) { return !(std::fabs(x) >= 65536.0f && std::isfinite(x)); }

inline v128_t scaled_from_high_halves(v128_t bits) {  // each i32 lane holds a half in its top 16 bits
  return wasm_v128_and(wasm_i32x4_shr(bits, 3), wasm_i32x4_splat(static_cast<int32_t>(0x8FFFE000u)));
}
inline v128_t low_scaled(v128_t h) {  // halves 0..3
  return scaled_from_high_halves(wasm_i16x8_shuffle(wasm_i32x4_splat(0), h, 0, 8, 1, 9, 2, 10, 3, 11));
}
inline v128_t high_scaled(v128_t h) {  // halves 4..7
  return scaled_from_high_halves(wasm_i16x8_shuffle(wasm_i32x4_splat(0), h, 4, 12, 5, 13, 6, 14, 7, 15));
}

}  // namespace webaccel::cpu::wasm_f16
#endif
