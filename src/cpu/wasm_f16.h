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
#include <cstdint>

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

// Four floats to halves rounded to nearest even, bit for bit float_to_half (core/fp16.h), one
// per i32 lane (low 16 bits): below 2^-14 the float adder itself rounds |x| + 0.5 at the half's
// subnormal step; above, the mantissa is rebiased and rounded by adding 0xfff plus its lowest kept
// bit; 65520 and up become infinity, NaN the quiet 0x7e00.
inline v128_t halves_rne(v128_t x) {
  const v128_t sign = wasm_v128_and(x, wasm_i32x4_splat(INT32_MIN));
  const v128_t f = wasm_v128_xor(x, sign);
  const v128_t half_magic = wasm_i32x4_splat(126 << 23);  // 0.5f
  const v128_t subnormal = wasm_i32x4_sub(wasm_f32x4_add(f, half_magic), half_magic);
  const v128_t odd = wasm_v128_and(wasm_u32x4_shr(f, 13), wasm_i32x4_splat(1));
  const v128_t rebias = wasm_i32x4_splat(static_cast<int32_t>(0xc8000fffu));  // (15 - 127) << 23, plus 0xfff
  const v128_t normal = wasm_u32x4_shr(wasm_i32x4_add(wasm_i32x4_add(f, rebias), odd), 13);
  const v128_t inf_nan = wasm_v128_bitselect(wasm_i32x4_splat(0x7e00), wasm_i32x4_splat(0x7c00),
                                             wasm_i32x4_gt(f, wasm_i32x4_splat(0x7f800000)));
  v128_t h = wasm_v128_bitselect(subnormal, normal, wasm_i32x4_lt(f, wasm_i32x4_splat(0x38800000)));
  h = wasm_v128_bitselect(inf_nan, h, wasm_i32x4_gt(f, wasm_i32x4_splat(0x477fefff)));
  return wasm_v128_or(h, wasm_u32x4_shr(sign, 16));
}

// Halves (low 16 bits of each i32 lane) to floats, bit for bit half_to_float: magnitudes moved into
// float position and scaled by 2^112 (exact for subnormals too), exponent 31 made inf/NaN.
inline v128_t floats_from_halves(v128_t h) {
  const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
  const v128_t magnitude = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
  const v128_t finite = wasm_f32x4_mul(magnitude, wasm_f32x4_splat(kUp));
  const v128_t special = wasm_v128_or(magnitude, wasm_i32x4_splat(0x70000000));
  return wasm_v128_or(wasm_v128_bitselect(special, finite, wasm_i32x4_gt(magnitude, wasm_i32x4_splat(0x0f7fe000))), sign);
}

}  // namespace webaccel::cpu::wasm_f16
#endif
