// Force-included in the wasm build: Emscripten 3.1.6 ships libc++ 13, which lacks a few C++20
// library pieces the core uses and that clang already provides as builtins.
#pragma once

#include <bit>
#include <version>

#if !defined(__cpp_lib_bit_cast)
namespace std {
template <class To, class From>
constexpr To bit_cast(const From& from) noexcept {
  return __builtin_bit_cast(To, from);
}
}  // namespace std
#endif
