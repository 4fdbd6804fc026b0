#pragma once
#include <cstddef>
#include "format/ggml_types.h"
namespace webaccel::cpu::reference {
// Dequantizes n elements (n % 256 == 0) of a K-quant row exactly as ggml does.
void dequantize_row_kquant(GgmlType type, const void* src, float* dst, size_t n);
}
