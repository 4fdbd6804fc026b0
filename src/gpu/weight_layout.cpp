#include "gpu/weight_layout.h"

#include <array>
#include <cstring>

#include "core/error.h"
#include "core/fp16.h"
#include "cpu/quant_blocks.h"
#include "cpu/wq_reference.h"

namespace webaccel::gpu {
namespace {

constexpr uint64_t kChunk = 32;  // weights per CPU code chunk (cpu/wq_reference.h)

// The codes of one CPU row, one byte per weight, and its scale bytes in GPU order.
struct RowCodes {
  std::vector<uint8_t> q;
  std::vector<uint8_t> scales;
};

void unpack_chunks(int bits, const uint8_t* src, uint64_t chunks, uint8_t* q) {
  for (uint64_t c = 0; c < chunks; c++) {
    cpu::reference::wq_unpack_chunk(bits, src + c * 4 * bits, q + c * kChunk);
  }
}

RowCodes read_row(GgmlType type, const GpuFormat& f, const uint8_t* row, uint64_t cols) {
  RowCodes out;
  out.q.resize(cols);
  if (f.superblock) {  // [d][dmin][12 bytes][codes] per 192 weights
    const uint64_t sb_bytes = 16 + 24 * f.bits;
    for (uint64_t s = 0; s < cols / kWkSuperBlock; s++) {
      const uint8_t* sb = row + s * sb_bytes;
      out.scales.insert(out.scales.end(), sb, sb + 16);
      unpack_chunks(f.bits, sb + 16, kWkSuperBlock / kChunk, out.q.data() + s * kWkSuperBlock);
    }
  } else if (type == GgmlType::kQ4_0) {
    for (uint64_t b = 0; b < cols / kQK; b++) {
      BlockQ4_0 blk;
      std::memcpy(&blk, row + b * sizeof blk, sizeof blk);
      out.scales.insert(out.scales.end(), {static_cast<uint8_t>(blk.d), static_cast<uint8_t>(blk.d >> 8)});
      cpu::reference::wq_unpack_chunk(4, blk.qs, out.q.data() + b * kQK);  // same nibble order as WQ4
    }
  } else if (type == GgmlType::kQ8_0) {
    for (uint64_t b = 0; b < cols / kQK; b++) {
      BlockQ8_0 blk;
      std::memcpy(&blk, row + b * sizeof blk, sizeof blk);
      out.scales.insert(out.scales.end(), {static_cast<uint8_t>(blk.d), static_cast<uint8_t>(blk.d >> 8)});
      for (uint64_t i = 0; i < kQK; i++) out.q[b * kQK + i] = static_cast<uint8_t>(blk.qs[i]) ^ 0x80;  // q + 128
    }
  } else {  // WQ and Q4_1: [d][m][codes] per group
    const uint64_t group_bytes = 4 + f.group * f.bits / 8;
    for (uint64_t g = 0; g < cols / f.group; g++) {
      const uint8_t* gp = row + g * group_bytes;
      out.scales.insert(out.scales.end(), gp, gp + 4);
      unpack_chunks(f.bits, gp + 4, f.group / kChunk, out.q.data() + g * f.group);
    }
  }
  return out;
}

// One row's codes into its GPU units (layout in the header).
void pack_units(uint32_t bits, const uint8_t* q, uint64_t cols, uint8_t* lo, uint8_t* hi) {
  const uint32_t uw = unit_weights(bits);
  for (uint64_t u = 0; u < cols / uw; u++) {
    const uint8_t* qu = q + u * uw;
    std::array<uint32_t, 4> words{};
    std::array<uint32_t, 2> hwords{};
    for (uint32_t i = 0; i < uw; i++) {
      switch (bits) {
        case 8: words[i / 4] |= uint32_t{qu[i]} << (8 * (i % 4)); break;
        case 4: words[i / 8] |= uint32_t{qu[i]} << (4 * (i % 8)); break;
        default: {  // 2 and 3: i = 16j + 8s + k
          const uint32_t j = i / 16, s = (i / 8) % 2, k = i % 8;
          words[j] |= uint32_t{qu[i] & 3u} << (4 * k + 2 * s);
          if (bits == 3) hwords[i / 32] |= uint32_t{(qu[i] >> 2) & 1u} << (4 * (i % 8) + (i / 8) % 4);
        }
      }
    }
    std::memcpy(lo + u * 16, words.data(), 16);
    if (bits == 3) std::memcpy(hi + u * 8, hwords.data(), 8);
  }
}

PackedMatrix convert_to_f16(const cpu::WeightMatrix& m) {
  PackedMatrix p;
  p.type = GgmlType::kF16;
  p.format = GpuFormat{16, 0, false, false};
  p.rows = m.rows;
  p.cols = m.cols;
  p.codes.resize(m.rows * m.cols * 2);
  std::vector<float> row(m.cols);
  for (uint64_t r = 0; r < m.rows; r++) {
    cpu::reference::dequantize_row(m.type, m.row(r), row.data(), m.cols);
    for (uint64_t i = 0; i < m.cols; i++) {
      const uint16_t h = float_to_half(row[i]);
      std::memcpy(p.codes.data() + (r * m.cols + i) * 2, &h, 2);
    }
  }
  return p;
}

}  // namespace

uint32_t unit_weights(uint32_t bits) {
  switch (bits) {
    case 2: case 3: return 64;
    case 4: return 32;
    case 8: return 16;
    case 16: return 8;
    default: return 4;
  }
}

std::optional<GpuFormat> gpu_format(GgmlType type, uint64_t cols) {
  std::optional<GpuFormat> f;
  switch (type) {
    case GgmlType::kF32: f = GpuFormat{32, 0, false, false}; break;
    case GgmlType::kF16: f = GpuFormat{16, 0, false, false}; break;
    case GgmlType::kQ4_0: f = GpuFormat{4, 32, true, false}; break;
    case GgmlType::kQ4_1: f = GpuFormat{4, 32, false, false}; break;
    case GgmlType::kQ8_0: f = GpuFormat{8, 32, true, false}; break;
    default:
      if (auto wq = wq_params(type)) {
        f = GpuFormat{static_cast<uint32_t>(wq->bits), static_cast<uint32_t>(wq->group), false, false};
      } else if (auto wk = wk_bits(type)) {
        f = GpuFormat{static_cast<uint32_t>(*wk), 16, false, true};
      }
  }
  if (f && cols % unit_weights(f->bits) != 0) return std::nullopt;  // 2/3 bits: rows of 32 * odd
  if (f && f->group && cols % (f->superblock ? kWkSuperBlock : f->group) != 0) return std::nullopt;
  return f;
}

RowBytes row_bytes(const GpuFormat& f, uint64_t cols) {
  RowBytes b;
  b.codes = cols * (f.bits == 3 ? 2 : f.bits) / 8;
  if (f.bits == 3) b.hi = cols / 8;
  if (f.superblock) {
    b.scales = cols / kWkSuperBlock * 16;
  } else if (f.bits <= 8) {
    b.scales = cols / f.group * (f.symmetric ? 2 : 4);
  }
  return b;
}

PackedMatrix pack_matrix(const cpu::WeightMatrix& m) {
  const auto format = gpu_format(m.type, m.cols);
  if (!format) return convert_to_f16(m);
  PackedMatrix p;
  p.type = m.type;
  p.format = *format;
  p.rows = m.rows;
  p.cols = m.cols;
  const RowBytes rb = row_bytes(*format, m.cols);
  if (format->bits >= 16) {  // already in GPU order
    p.codes.assign(m.data, m.data + m.rows * m.row_bytes);
    return p;
  }
  p.codes.resize(m.rows * (rb.codes + rb.hi));
  p.scales.resize((m.rows * rb.scales + 3) / 4 * 4);
  uint8_t* hi_plane = p.codes.data() + m.rows * rb.codes;
  for (uint64_t r = 0; r < m.rows; r++) {
    const RowCodes row = read_row(m.type, *format, m.row(r), m.cols);
    if (row.scales.size() != rb.scales) {
      fail(ErrorKind::kInternal, "gpu: weight layout: row scale bytes " + std::to_string(row.scales.size()) +
                                     " != " + std::to_string(rb.scales));
    }
    std::memcpy(p.scales.data() + r * rb.scales, row.scales.data(), rb.scales);
    pack_units(format->bits, row.q.data(), m.cols, p.codes.data() + r * rb.codes, hi_plane + r * rb.hi);
  }
  return p;
}

}  // namespace webaccel::gpu
