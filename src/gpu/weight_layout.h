// CPU weight formats repacked into the planes the WGSL matmul and embed kernels read
// (src/gpu/wgsl/lib_quant_decode.wgsl), with the same bytes as the CPU format (codes + scales),
// so bits per weight stay exact.
//
// Codes: row-major, each row a whole number of 16-byte units (one vec4<u32> load per thread);
// every unit holds a fixed set of weights, laid out so a decode needs a mask, an OR and a
// subtract per weight (no shifts for most fields, no int->float conversions):
//   bits 8 (16 weights): word j, byte k          = q[4j + k]             (the plain byte order)
//   bits 4 (32 weights): word j, bits 4k..4k+3   = q[8j + k]
//   bits 2 (64 weights): word j, bits 4k+2s..+1  = q[16j + 8s + k]        (s = 0, 1; k < 8)
//   bits 3 (64 weights): the low two bits as bits 2, in the codes plane; then, after the whole
//                        low plane, a high plane of 8 bytes per unit: word h, bit 4k+e = bit 2
//                        of q[32h + 8e + k] (e < 4), which a mask and a shift move under its
//                        nibble of the low plane
//   f16 (8 weights), f32 (4 weights): the values in order.
// Scales (a separate buffer, each row's entries in order):
//   WQ*, Q4_1:    per group a u32 = f16 d | f16 m << 16           value = q*d + m
//   Q4_0, Q8_0:   per group 2 bytes: f16 d (Q8_0 codes stored as q ^ 0x80)   value = (q - 2^(b-1))*d
//   WK*:          per 192 weights 16 bytes: f16 d, f16 dmin, 12 bytes (sub-block k: scale code
//                 k & 15, min code k >> 4)       value = q*d*scale_k - dmin*min_k
// Formats without a GPU kernel (K-quants, Q5_*, IQ4_NL, BF16, ...), and WQ2/WQ3 rows whose width
// is not a multiple of 64, are converted to f16 on upload.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cpu/matmul.h"
#include "format/ggml_types.h"

namespace webaccel::gpu {

// How a GPU-resident type is read: the override constants of matmul.wgsl / embed.wgsl.
struct GpuFormat {
  uint32_t bits = 32;       // 2, 3, 4, 8 quantized; 16 f16; 32 f32
  uint32_t group = 0;       // weights per scale (WQ 32/64/128), 16 for WK sub-blocks, 0 for floats
  bool symmetric = false;   // Q4_0, Q8_0: one f16 d per group
  bool superblock = false;  // WK
};

// The GPU format of `type` for rows of `cols` weights, or nullopt where the upload converts to f16.
std::optional<GpuFormat> gpu_format(GgmlType type, uint64_t cols);
uint32_t unit_weights(uint32_t bits);

// Bytes of one row in each plane (3-bit: codes_row is the low plane, hi_row the high plane).
struct RowBytes {
  uint64_t codes = 0;
  uint64_t hi = 0;
  uint64_t scales = 0;  // symmetric formats: 2 per group (rows are not 4-byte aligned then)
};
RowBytes row_bytes(const GpuFormat& f, uint64_t cols);

struct PackedMatrix {
  GgmlType type = GgmlType::kF32;  // the type the planes hold (kF16 after a conversion)
  GpuFormat format;
  uint64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;   // (rows, row_bytes.codes) then, 3-bit, (rows, row_bytes.hi)
  std::vector<uint8_t> scales;  // (rows, row_bytes.scales), padded to 4 bytes
};

// Repacks (or converts) a CPU matrix; the bytes are the CPU format's, codes + scales.
PackedMatrix pack_matrix(const cpu::WeightMatrix& m);

}  // namespace webaccel::gpu
