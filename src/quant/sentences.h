// Sentences of a text file, for encoder evaluation and calibration.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace webaccel::quant {

// Split at '.', '?' and '!' (line breaks read as spaces); pieces of 20 characters or fewer are
// dropped. At most max_sentences (0 = all). Error(kIo) naming the file, kInput when none is found.
std::vector<std::string> read_sentences(const std::string& path, size_t max_sentences);

}  // namespace webaccel::quant
