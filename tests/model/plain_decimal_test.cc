// ParsePlainDecimal (the WebAssembly build's strtod for the numbers of a bundle header) against
// glibc's strtod, which rounds correctly: the same double, bit for bit, and the same end, for
// every number it takes; it declines everything else, so strtod's other forms keep strtod's
// answer.
#include "plain_decimal.h"

#include <gtest/gtest.h>

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

namespace fetal {
namespace internal {
namespace {

uint64_t Bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}

// Parses `text` both ways; true if ParsePlainDecimal took it (and then agreed with strtod).
bool ExpectSameAsStrtod(const std::string& text) {
  double value = 12345;
  const char* end = nullptr;
  if (!ParsePlainDecimal(text.c_str(), &value, &end)) {
    EXPECT_EQ(value, 12345) << text;  // declined: nothing changed
    return false;
  }
  char* strtod_end = nullptr;
  const double expected = std::strtod(text.c_str(), &strtod_end);
  EXPECT_EQ(Bits(value), Bits(expected)) << text << ": " << value << " vs " << expected;
  EXPECT_EQ(end, strtod_end) << text;
  return true;
}

TEST(PlainDecimalTest, ShortestRoundTripTextOfRandomDoublesIsReadBackExactly) {
  // What nlohmann (and every JSON writer) prints: the shortest text that reads back as the
  // double, up to 17 significant digits, over the magnitudes a model header holds.
  std::mt19937_64 rng(7);
  int taken = 0;
  for (int i = 0; i < 200000; ++i) {
    const double magnitude = std::pow(10.0, double(int(rng() % 30)) - 14);
    double v = std::ldexp(double(rng() >> 11), -53) * magnitude * (rng() & 1 ? -1 : 1);
    if (i % 3 == 0) v = double(float(v));  // floats widened to double, as the header writes them
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", v);
    taken += ExpectSameAsStrtod(text);
    for (int digits = 1; digits <= 16; digits += 5) {
      std::snprintf(text, sizeof text, "%.*f", digits, v);
      taken += ExpectSameAsStrtod(text);
    }
  }
  EXPECT_GT(taken, 600000);
}

TEST(PlainDecimalTest, RandomDigitStringsIncludingHalfwayCases) {
  // Random 1-19 digit mantissas at every exponent it takes, then exact midpoints between two
  // doubles (ties go to even).
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300000; ++i) {
    const int digits = 1 + int(rng() % 19);
    std::string mantissa;
    for (int d = 0; d < digits; ++d) mantissa += char('0' + rng() % 10);
    const int exponent = int(rng() % 39) - 19;
    char text[64];
    std::snprintf(text, sizeof text, "%s%se%d", rng() & 1 ? "-" : "", mantissa.c_str(), exponent);
    ExpectSameAsStrtod(text);
    const int point = int(rng() % (digits + 1));
    std::string dotted = mantissa.substr(0, point == 0 ? 1 : point);
    if (point > 0 && point < digits) dotted += "." + mantissa.substr(point);
    ExpectSameAsStrtod(dotted);
  }
  int midpoints = 0;
  for (int i = 0; i < 20000; ++i) {
    // (2m + 1) * 2^(k-1) for a 53-bit m is a midpoint between two doubles, printed exactly; it
    // is taken when that needs at most 19 significant digits.
    const uint64_t m = (uint64_t(1) << 52) | (rng() >> 12);
    const int k = int(rng() % 8) - 6;
    const long double mid = std::ldexp((long double)(2 * m + 1), k - 1);
    char text[80];
    std::snprintf(text, sizeof text, "%.*Lf", k < 1 ? 1 - k : 0, mid);
    midpoints += ExpectSameAsStrtod(text);
  }
  EXPECT_GT(midpoints, 0);
}

TEST(PlainDecimalTest, EdgesOfWhatItTakes) {
  for (const char* text : {"0",
                           "-0",
                           "0.0",
                           "-0.0",
                           "0e5",
                           "1",
                           "9",
                           "10",
                           "0.1",
                           "0.5",
                           "1.5",
                           "2.5",
                           "106.0",
                           "9007199254740993",
                           "9007199254740992.5",
                           "18446744073709551615",
                           "9999999999999999999",
                           "1e19",
                           "1e-19",
                           "9999999999999999999e19",
                           "1e+5",
                           "1E-5",
                           "1.25e-3",
                           "5e-1x",
                           "7,5",
                           "1.5e",
                           "2e+",
                           "3.e5"}) {
    ExpectSameAsStrtod(text);
  }
  // Taken: the value and where it ends.
  double v;
  const char* end;
  const std::string after = "0.25,1";
  ASSERT_TRUE(ParsePlainDecimal(after.c_str(), &v, &end));
  EXPECT_EQ(v, 0.25);
  EXPECT_EQ(end, after.c_str() + 4);
  ASSERT_TRUE(ParsePlainDecimal("-0.0", &v, &end));
  EXPECT_TRUE(std::signbit(v));
  // Declined: strtod's other forms and what is past its range.
  for (const char* text :
       {"", "-", "+1", " 1", ".5", "1.", "0x10", "0X1p3", "inf", "nan", "12345678901234567890",
        "1e20", "1e-20", "1e12345", "0.00000000000000000001"}) {
    EXPECT_FALSE(ParsePlainDecimal(text, &v, &end)) << text;
  }
}

}  // namespace
}  // namespace internal
}  // namespace fetal
