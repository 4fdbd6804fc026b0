#include "cpu/simd_width.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hwy/targets.h"

namespace webaccel::cpu {

namespace {
// Highway's x86 targets wider than `bits` (1.0's list; later Highways add more AVX-512 targets,
// which the same bits above AVX2 cover).
int64_t targets_wider_than(int bits) {
#if HWY_ARCH_X86
  int64_t avx512 = HWY_AVX3 | HWY_AVX3_DL;
  if (bits == 128) return avx512 | HWY_AVX2;
  if (bits == 256) return avx512;
#else
  (void)bits;
#endif
  return 0;
}
}  // namespace

bool apply_simd_width_from_env() {
#if defined(__EMSCRIPTEN__)
  return false;
#else
  const char* value = std::getenv("WEBACCEL_CPU_SIMD");
  if (value == nullptr || *value == '\0' || std::strcmp(value, "512") == 0) return false;
  int bits = 0;
  if (std::strcmp(value, "128") == 0) bits = 128;
  if (std::strcmp(value, "256") == 0) bits = 256;
  if (bits == 0) {
    std::fprintf(stderr, "error: WEBACCEL_CPU_SIMD=%s: expected 128, 256 or 512 (the widest vectors the CPU kernels may use)\n",
                 value);
    std::exit(2);
  }
  // Highway re-chooses its target at the next dispatch, in every kernel file.
  hwy::DisableTargets(targets_wider_than(bits));
  return true;
#endif
}

}  // namespace webaccel::cpu
