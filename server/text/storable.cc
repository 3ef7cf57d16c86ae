#include "text/storable.h"

#include <cfloat>
#include <cmath>

namespace fetal {
namespace text {
namespace {

bool IsAllowedControl(unsigned char c) { return c == '\t' || c == '\n' || c == '\r'; }

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

bool IsStorableText(std::string_view s, size_t* bad_offset) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && !IsAllowedControl(c)) || c == 0x7F) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += n;
  }
  return true;
}

std::string StorableCopy(std::string_view s) {
  std::string out(s);
  size_t bad = 0;
  while (!IsStorableText(out, &bad)) out[bad] = '?';
  return out;
}

const char* UnstorableTextReason(std::string_view s, size_t offset) {
  if (offset >= s.size()) return "an unstorable character";
  const unsigned char c = static_cast<unsigned char>(s[offset]);
  if (c == 0) return "a NUL character";
  if (c < 0x20 || c == 0x7F) return "a control character";
  return "invalid UTF-8";
}

bool IsStorableNumber(double v) { return v == 0 || (std::isfinite(v) && std::fabs(v) >= DBL_MIN); }

}  // namespace text
}  // namespace fetal
