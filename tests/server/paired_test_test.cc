// McNemar's test and the paired accuracy difference (server/monitoring/paired_test.h) against
// values worked out by hand from the binomial distribution (the arithmetic is in each comment)
// and the published example of Fagerland, Lydersen and Laake (2013).
#include <gtest/gtest.h>

#include <cmath>

#include "monitoring/paired_test.h"

namespace fetal {
namespace monitoring {
namespace {

TEST(McNemar, PublishedExample) {
  // b = 1, c = 7, n = 8: P(X <= 1) = (1 + 8) / 256; exact = 18/256 = 0.0703125 (published
  // 0.070); P(X = 1) = 8/256; mid-p = 10/256 = 0.0390625 (published 0.039).
  McNemarResult r = McNemar(1, 7);
  EXPECT_EQ(r.discordant, 8);
  EXPECT_NEAR(r.exact_p, 18.0 / 256, 1e-12);
  EXPECT_NEAR(r.mid_p, 10.0 / 256, 1e-12);
  // Symmetric in which model is A.
  McNemarResult s = McNemar(7, 1);
  EXPECT_NEAR(s.exact_p, r.exact_p, 1e-15);
  EXPECT_NEAR(s.mid_p, r.mid_p, 1e-15);
}

TEST(McNemar, SmallCounts) {
  // b = 0, c = 5: exact = 2 / 32 = 0.0625; mid-p = 2/32 - 1/32 = 0.03125.
  McNemarResult r = McNemar(0, 5);
  EXPECT_NEAR(r.exact_p, 0.0625, 1e-12);
  EXPECT_NEAR(r.mid_p, 0.03125, 1e-12);
  // b = 2, c = 10, n = 12: P(X <= 2) = (1 + 12 + 66) / 4096 = 79/4096; exact = 158/4096;
  // mid-p = (158 - 66) / 4096 = 92/4096.
  r = McNemar(2, 10);
  EXPECT_NEAR(r.exact_p, 158.0 / 4096, 1e-12);
  EXPECT_NEAR(r.mid_p, 92.0 / 4096, 1e-12);
}

TEST(McNemar, NoEvidenceIsOne) {
  EXPECT_EQ(McNemar(0, 0).exact_p, 1);
  EXPECT_EQ(McNemar(0, 0).mid_p, 1);
  // b = c = 3: P(X <= 3) = 42/64 -> exact capped at 1; mid-p = 84/64 - 20/64 = 1.
  EXPECT_EQ(McNemar(3, 3).exact_p, 1);
  EXPECT_NEAR(McNemar(3, 3).mid_p, 1, 1e-12);
  // b = 4, c = 5, n = 9: P(X <= 4) = 256/512; exact = 1; P(X = 4) = 126/512; mid-p = 386/512.
  EXPECT_EQ(McNemar(4, 5).exact_p, 1);
  EXPECT_NEAR(McNemar(4, 5).mid_p, 386.0 / 512, 1e-12);
}

TEST(McNemar, LargeCountsStayFinite) {
  // n = 2,000,000 balanced: p near 1; heavily unbalanced: p underflows to 0, never NaN.
  McNemarResult r = McNemar(1000000, 1000000);
  EXPECT_GT(r.mid_p, 0.99);
  EXPECT_LE(r.exact_p, 1);
  r = McNemar(10, 100000);
  EXPECT_TRUE(std::isfinite(r.exact_p));
  EXPECT_LT(r.exact_p, 1e-100);
  // Normal approximation as a cross-check at moderate n: b = 40, c = 60, z = 20 / 10 = 2;
  // two-sided normal p = 0.0455; the exact value is a little above, 0.0569.
  r = McNemar(40, 60);
  EXPECT_NEAR(r.exact_p, 0.0569, 0.0005);
  EXPECT_LT(r.mid_p, r.exact_p);
}

TEST(AccuracyDifference, WaldInterval) {
  // b = 10, c = 30, n = 200: d = 20/200 = 0.1; var = (40 - 400/200) / 200^2 = 38/40000;
  // half = 1.96 * sqrt(0.00095) = 0.060411...
  PairedDifference d = AccuracyDifference(10, 30, 200);
  EXPECT_NEAR(d.difference, 0.1, 1e-12);
  const double half = 1.96 * std::sqrt(38.0 / 40000);
  EXPECT_NEAR(d.ci[0], 0.1 - half, 1e-12);
  EXPECT_NEAR(d.ci[1], 0.1 + half, 1e-12);
  // No discordant pairs: a zero-width interval at 0.
  d = AccuracyDifference(0, 0, 50);
  EXPECT_EQ(d.difference, 0);
  EXPECT_EQ(d.ci[0], 0);
  EXPECT_EQ(d.ci[1], 0);
  // Nothing paired: the whole range.
  d = AccuracyDifference(0, 0, 0);
  EXPECT_EQ(d.ci[0], -1);
  EXPECT_EQ(d.ci[1], 1);
}

}  // namespace
}  // namespace monitoring
}  // namespace fetal
