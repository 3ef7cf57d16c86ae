#include "plain_decimal.h"

#include <cmath>
#include <cstdint>

namespace fetal {
namespace internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool ParsePlainDecimal(const char* text, double* value, const char** end) {
  const char* p = text;
  const bool negative = *p == '-';
  p += negative;
  if (!IsDigit(*p)) return false;
  uint64_t w = 0;  // the significant digits
  int digits = 0, exponent = 0;
  bool point = false;
  for (;; ++p) {
    if (*p == '.' && !point && IsDigit(p[1])) {
      point = true;
    } else if (!IsDigit(*p)) {
      break;
    } else {
      if (w != 0 || *p != '0') {  // not a leading zero
        if (++digits > 19) return false;
        w = 10 * w + uint64_t(*p - '0');
      }
      exponent -= point;
    }
  }
  if (*p == '.') return false;  // "1." or "1.2.": left to strtod
  if (*p == 'e' || *p == 'E') {
    const char* q = p + 1;
    const bool minus = *q == '-';
    q += *q == '-' || *q == '+';
    int e = 0, n = 0;
    for (; IsDigit(*q); ++q, ++n) e = 10 * e + (*q - '0');
    if (n == 0 || n > 4) return false;
    exponent += minus ? -e : e;
    p = q;
  }
  if (*p == 'x' || *p == 'X') return false;  // "0x...": strtod reads it as hexadecimal
  if (w != 0 && (exponent < -19 || exponent > 19)) return false;

  double v = 0;
  if (w != 0 && w <= (uint64_t(1) << 53)) {
    // Clinger's fast path: w and 10^|e| (|e| <= 19 < 23) are exact doubles, so one multiplication
    // or division rounds correctly. 10^k is built by multiplying by 10, exact at every step.
    double power = 1;
    for (int k = exponent < 0 ? -exponent : exponent; k > 0; --k) power *= 10;
    v = exponent < 0 ? double(w) / power : double(w) * power;
  } else if (w != 0) {
    // w * 10^e = w * 5^e * 2^e. The product or quotient by 5^|e| is computed exactly over four
    // 32-bit limbs (x[3] the highest), in steps of at most 5^13 < 2^32, in 64-bit arithmetic;
    // for e < 0, w is first moved to the top of the 128 bits, leaving >= 83 quotient bits.
    // The value is then x * 2^-shift, plus a nonzero remainder below x's last bit if sticky.
    const int z = __builtin_clzll(w);
    const uint64_t top = exponent < 0 ? w << z : w;
    uint32_t x[4] = {exponent < 0 ? 0 : uint32_t(w), exponent < 0 ? 0 : uint32_t(w >> 32),
                     exponent < 0 ? uint32_t(top) : 0, exponent < 0 ? uint32_t(top >> 32) : 0};
    int shift = (exponent < 0 ? 64 + z : 0) - exponent;  // - exponent: the 2^e of 10^e
    bool sticky = false;
    for (int left = exponent < 0 ? -exponent : exponent; left > 0; left -= 13) {
      uint64_t five = 1;
      for (int i = left < 13 ? left : 13; i > 0; --i) five *= 5;
      uint64_t carry = 0;
#ifdef __clang__
#pragma clang loop unroll(disable)
#endif
      for (int i = 0; i < 4; ++i) {
        const int limb = exponent < 0 ? 3 - i : i;
        const uint64_t current = exponent < 0 ? carry << 32 | x[limb] : x[limb] * five + carry;
        x[limb] = uint32_t(exponent < 0 ? current / five : current);
        carry = exponent < 0 ? current % five : current >> 32;
      }
      sticky = sticky || (exponent < 0 && carry != 0);
    }
    // Normalize to hi:lo with the top bit of hi set, then round to 53 bits, ties to even.
    uint64_t hi = uint64_t(x[3]) << 32 | x[2], lo = uint64_t(x[1]) << 32 | x[0];
    if (hi == 0) {
      hi = lo;
      lo = 0;
      shift += 64;
    }
    const int n = __builtin_clzll(hi);
    if (n > 0) {
      hi = hi << n | lo >> (64 - n);
      lo <<= n;
      shift += n;
    }
    uint64_t m = hi >> 11;
    const uint64_t rest = hi & 0x7ff;
    if (rest > 0x400 || (rest == 0x400 && (lo != 0 || sticky || (m & 1)))) ++m;
    // m <= 2^53 and the result is far from overflow and subnormals: both steps are exact.
    v = std::ldexp(double(m), 75 - shift);  // hi:lo = m * 2^75 (before rounding)
  }
  *value = negative ? -v : v;
  *end = p;
  return true;
}

}  // namespace internal
}  // namespace fetal
