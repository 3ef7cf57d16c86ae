#include "text/number_text.h"

#include <charconv>
#include <cmath>

namespace fetal {
namespace text {

void AppendShortest(double v, std::string* out) {
  if (!std::isfinite(v)) {
    *out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendPrecise(double v, std::string* out) {
  char buf[40];
  // general + precision 17 is specified to match printf("%.17g") and is several times faster.
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 17);
  out->append(buf, r.ptr);
}

std::string Precise(double v) {
  std::string out;
  AppendPrecise(v, &out);
  return out;
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

std::string Readable(double v) {
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
  return std::string(buf, r.ptr);
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[400];  // the widest double in fixed form with a few decimals
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  return std::string(buf, r.ptr);
}

}  // namespace text
}  // namespace fetal
