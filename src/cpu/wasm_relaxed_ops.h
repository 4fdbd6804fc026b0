// The relaxed-SIMD operations the wasm relaxed build uses, for clang 14 (Debian's Emscripten).
// clang 14 knows only the 2022 prototype of relaxed SIMD: its f32x4.fma has a pre-standard opcode
// and it has no int8 dot product at all. So each op is written as a prototype stand-in with the
// same shape (v128 operands, one v128 out, 3-byte opcode) that src/wasm/patch_relaxed_opcodes.py
// rewrites in the linked module: f32x4.fma -> f32x4.relaxed_madd, f64x2.fma ->
// i32x4.relaxed_dot_i8x16_i7x16_add_s, f64x2.relaxed_min -> i16x8.relaxed_dot_i8x16_i7x16_s.
// Nothing else may use those builtins in this build.
#pragma once

#if defined(__wasm_relaxed_simd__)
#include <wasm_simd128.h>

namespace webaccel::cpu::wasm_relaxed {

using F32x4Builtin = float __attribute__((vector_size(16)));
using F64x2Builtin = double __attribute__((vector_size(16)));

// a * b + c, fused or not (the engine chooses): results may differ from mul+add in the last bit.
inline v128_t madd(v128_t a, v128_t b, v128_t c) {
  return reinterpret_cast<v128_t>(__builtin_wasm_fma_f32x4(reinterpret_cast<F32x4Builtin>(a),
                                                          reinterpret_cast<F32x4Builtin>(b),
                                                          reinterpret_cast<F32x4Builtin>(c)));
}

// acc.i32[l] + sum_{j<4} a.i8[4l+j] * b.i8[4l+j]. Exact and the same on every engine only while
// every byte of b is in 0..127; callers pass weight codes or 7-bit pieces of them as b.
inline v128_t dot_i8_i7_add(v128_t a, v128_t b_7bit, v128_t acc) {
  return reinterpret_cast<v128_t>(__builtin_wasm_fma_f64x2(reinterpret_cast<F64x2Builtin>(a),
                                                          reinterpret_cast<F64x2Builtin>(b_7bit),
                                                          reinterpret_cast<F64x2Builtin>(acc)));
}

// i16 lane l: a.i8[2l] * b.i8[2l] + a.i8[2l+1] * b.i8[2l+1], exact while b is in 0..127.
inline v128_t dot_i8_i7_i16(v128_t a, v128_t b_7bit) {
  return reinterpret_cast<v128_t>(__builtin_wasm_relaxed_min_f64x2(reinterpret_cast<F64x2Builtin>(a),
                                                                  reinterpret_cast<F64x2Builtin>(b_7bit)));
}

}  // namespace webaccel::cpu::wasm_relaxed
#endif
