#include "quant/sentences.h"

#include <fstream>
#include <iterator>

#include "core/error.h"

namespace webaccel::quant {

std::vector<std::string> read_sentences(const std::string& path, size_t max_sentences) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::kIo, path + ": cannot open");
  std::vector<std::string> out;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), cur;
  for (char c : text) {
    cur += c == '\n' ? ' ' : c;
    if ((c == '.' || c == '?' || c == '!') && cur.find_first_not_of(' ') != std::string::npos) {
      if (cur.size() > 20) out.push_back(cur.substr(cur.find_first_not_of(' ')));
      cur.clear();
      if (max_sentences && out.size() == max_sentences) break;
    }
  }
  if (out.empty()) fail(ErrorKind::kInput, path + ": no sentences found");
  return out;
}

}  // namespace webaccel::quant
