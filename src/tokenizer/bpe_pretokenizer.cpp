#include "tokenizer/bpe_pretokenizer.h"

#include "tokenizer/unicode_tables.h"

namespace webaccel::tok {
namespace {

// Class of one code point for the GPT-2 pattern; kNone stands for "past the segment's end".
enum class Cls { kNone, kLetter, kNumber, kSpace, kOther };

class SegmentScanner {
 public:
  SegmentScanner(std::u32string_view cps, size_t begin, size_t end, std::vector<Piece>& out)
      : cps_(cps), end_(end), prev_(begin), out_(out) {}

  void run() {
    size_t pos = prev_;
    while (pos < end_) pos = match_at(pos);
  }

 private:
  Cls cls(size_t pos) const {
    if (pos >= end_) return Cls::kNone;
    const uint8_t f = char_flags(cps_[pos]);
    if (f & kWhitespace) return Cls::kSpace;
    if (f & kLetter) return Cls::kLetter;
    if (f & kNumber) return Cls::kNumber;
    return Cls::kOther;
  }
  char32_t at(size_t pos) const { return pos < end_ ? cps_[pos] : 0; }

  size_t emit(size_t end) {
    if (end > prev_) out_.push_back({prev_, end});
    prev_ = end;
    return end;
  }

  // Returns the position after the longest alternative that matches at pos.
  size_t match_at(size_t pos) {
    const char32_t c = cps_[pos];
    if (c == U'\'') {
      const char32_t n1 = at(pos + 1), n2 = at(pos + 2);
      if (n1 == U's' || n1 == U't' || n1 == U'm' || n1 == U'd') return emit(pos + 2);
      if ((n1 == U'r' && n2 == U'e') || (n1 == U'v' && n2 == U'e') || (n1 == U'l' && n2 == U'l')) return emit(pos + 3);
    }
    // " ?X+" for the three run classes: an optional leading space joins the run after it.
    const size_t run_start = (c == U' ') ? pos + 1 : pos;
    const Cls run = cls(run_start);
    if (run == Cls::kLetter || run == Cls::kNumber || run == Cls::kOther) {
      size_t p = run_start;
      while (cls(p) == run) ++p;
      return emit(p);
    }
    size_t spaces = 0;
    while (cls(pos + spaces) == Cls::kSpace) ++spaces;
    // "\s+(?!\S)": leave the last space to prefix the word that follows.
    if (spaces > 1 && pos + spaces < end_) return emit(pos + spaces - 1);
    if (spaces > 0) return emit(pos + spaces);
    return emit(pos + 1);
  }

  std::u32string_view cps_;
  size_t end_;
  size_t prev_;
  std::vector<Piece>& out_;
};

}  // namespace

void pretokenize(std::u32string_view cps, PreTokenizer kind, std::vector<Piece>& out) {
  if (kind == PreTokenizer::kGpt2) {
    SegmentScanner(cps, 0, cps.size(), out).run();
    return;
  }
  // The \p{N} pass leaves single number code points and the runs between them as segments.
  size_t seg = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (!is_number(cps[i])) continue;
    SegmentScanner(cps, seg, i, out).run();
    out.push_back({i, i + 1});
    seg = i + 1;
  }
  SegmentScanner(cps, seg, cps.size(), out).run();
}

}  // namespace webaccel::tok
