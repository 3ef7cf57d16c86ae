// The monitoring statistics (server/monitoring/statistics.h) and the reference bins against
// values worked out by hand (the arithmetic is in each comment).
#include <gtest/gtest.h>

#include <cmath>

#include "monitoring/reference.h"
#include "monitoring/statistics.h"
#include "storage/day_stats.h"
#include "storage/exam_signals.h"
#include "text/time_text.h"

namespace fetal {
namespace monitoring {
namespace {

TEST(Psi, TwoBins) {
  // e = (.5, .5), a = (.8, .2): .3 ln(.8/.5) + (-.3) ln(.2/.5) = .3 ln 1.6 - .3 ln .4
  EXPECT_NEAR(Psi({50, 50}, {80, 20}), 0.4158883083359672, 1e-12);
  EXPECT_NEAR(Psi({10, 20, 30}, {1, 2, 3}), 0, 1e-15);  // same proportions
  EXPECT_EQ(Psi({10, 20}, {0, 0}), 0);                  // nothing observed
}

TEST(Psi, EmptyBinIsFloored) {
  // a = (1, 0) -> (1, 1e-4): (1 - .5) ln(1/.5) + (1e-4 - .5) ln(1e-4/.5)
  const double expected = 0.5 * std::log(2.0) + (1e-4 - 0.5) * std::log(1e-4 / 0.5);
  EXPECT_NEAR(Psi({50, 50}, {10, 0}), expected, 1e-12);
}

TEST(JensenShannon, TwoBinsInBits) {
  // m = (.65, .35); JS = .5 [.5 log2(.5/.65) + .5 log2(.5/.35)] + .5 [.8 log2(.8/.65) +
  // .2 log2(.2/.35)]
  EXPECT_NEAR(JensenShannon({50, 50}, {80, 20}), 0.07310400793180985, 1e-12);
  EXPECT_NEAR(JensenShannon({1, 0}, {0, 1}), 1.0, 1e-12);  // disjoint: one bit
  EXPECT_NEAR(JensenShannon({3, 1}, {6, 2}), 0, 1e-15);
}

TEST(ChiSquare, ThreeClasses) {
  // expected counts 50 * (.6, .3, .1) = (30, 15, 5): 0 + 25/15 + 25/5; df 2: p = exp(-chi2/2)
  ChiSquareResult r = ChiSquareGoodnessOfFit({30, 10, 10}, {0.6, 0.3, 0.1});
  EXPECT_NEAR(r.chi2, 6.666666666666667, 1e-12);
  EXPECT_EQ(r.degrees_of_freedom, 2);
  EXPECT_NEAR(r.p_value, 0.035673993347252395, 1e-12);
}

TEST(ChiSquare, ZeroProportionClassIsLeftOut) {
  // (30, 20) against (.5, .5): 25/25 + 25/25 = 2 with df 1: p = erfc(sqrt(2/2)) ... via Q(1/2, 1)
  ChiSquareResult r = ChiSquareGoodnessOfFit({30, 20, 0}, {0.5, 0.5, 0});
  EXPECT_NEAR(r.chi2, 2.0, 1e-12);
  EXPECT_EQ(r.degrees_of_freedom, 1);
  EXPECT_NEAR(r.p_value, std::erfc(1.0), 1e-12);
  EXPECT_EQ(ChiSquareGoodnessOfFit({0, 0, 0}, {0.5, 0.5, 0}).p_value, 1);
}

TEST(UpperRegularizedGamma, KnownForms) {
  for (double x : {0.0, 0.1, 1.0, 2.5, 10.0, 40.0}) {
    EXPECT_NEAR(UpperRegularizedGamma(1, x), std::exp(-x), 1e-13) << x;               // Q(1,x)
    EXPECT_NEAR(UpperRegularizedGamma(0.5, x), std::erfc(std::sqrt(x)), 1e-13) << x;  // Q(1/2,x)
  }
  // chi-square df 1 at its 95 % critical value 3.841458820694124
  EXPECT_NEAR(UpperRegularizedGamma(0.5, 3.841458820694124 / 2), 0.05, 1e-12);
}

TEST(Wilson, EightOfTen) {
  // center (p + z^2/2n) / (1 + z^2/n), half z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
  auto ci = WilsonInterval(8, 10);
  EXPECT_NEAR(ci[0], 0.49015684672072335, 1e-12);
  EXPECT_NEAR(ci[1], 0.9433190520193067, 1e-12);
  EXPECT_EQ(WilsonInterval(0, 0)[0], 0);
  EXPECT_EQ(WilsonInterval(0, 0)[1], 1);
}

TEST(Performance, FromConfusion) {
  // rows: final reading; columns: server class
  Confusion m = {{{5, 1, 0}, {2, 3, 1}, {0, 0, 4}}};
  Performance p = PerformanceOf(m);
  EXPECT_EQ(p.n, 16);
  EXPECT_DOUBLE_EQ(p.accuracy, 12.0 / 16);
  EXPECT_DOUBLE_EQ(p.recall[0], 5.0 / 6);
  EXPECT_DOUBLE_EQ(p.recall[1], 3.0 / 6);
  EXPECT_DOUBLE_EQ(p.recall[2], 1.0);
  // F1_k = 2 TP / (support + predicted): 10/13, 6/10, 8/9
  EXPECT_NEAR(p.macro_f1, 0.7527065527065527, 1e-12);
  EXPECT_NEAR(p.accuracy_ci[0], WilsonInterval(12, 16)[0], 1e-15);
}

TEST(Performance, ClassWithoutSupportOrPredictions) {
  Confusion m = {{{4, 0, 0}, {1, 5, 0}, {0, 0, 0}}};
  Performance p = PerformanceOf(m);
  EXPECT_FALSE(p.has_support[2]);
  // classes 0 and 1 only: F1_0 = 8/(4+5), F1_1 = 10/(6+5)
  EXPECT_NEAR(p.macro_f1, (8.0 / 9 + 10.0 / 11) / 2, 1e-12);
}

TEST(Calibration, ExpectedCalibrationError) {
  std::vector<int64_t> exams(10, 0), correct(10, 0);
  std::vector<double> confidence(10, 0);
  exams[9] = 10, confidence[9] = 9.5, correct[9] = 8;  // |8 - 9.5| / 15
  exams[6] = 5, confidence[6] = 3.25, correct[6] = 4;  // |4 - 3.25| / 15
  EXPECT_NEAR(ExpectedCalibrationError(exams, confidence, correct), 0.15, 1e-12);
}

TEST(Estimate, ConfidenceBased) {
  // tops .9 .8 .6 .7 (predicted 0 0 1 2): mean .75; sum p(1-p) = 3.0 - 2.3 = .7
  Estimate e = EstimatePerformance(4, 3.0, 2.3, {1.7, 0.6, 0.7}, {2.0, 1.1, 0.9});
  EXPECT_DOUBLE_EQ(e.accuracy, 0.75);
  EXPECT_NEAR(e.accuracy_ci[0], 0.75 - 1.96 * std::sqrt(0.7) / 4, 1e-12);
  EXPECT_EQ(e.accuracy_ci[1], 1.0);  // clipped
  EXPECT_NEAR(e.recall[0], 0.85, 1e-12);
  EXPECT_NEAR(e.recall[1], 0.6 / 1.1, 1e-12);
  EXPECT_NEAR(e.recall[2], 0.7 / 0.9, 1e-12);
}

TEST(MergeSparseBins, NeighboursJoinUntilEachExpectsEnough) {
  // 100 actual exams against proportions (.5, .02, .03, .2, .01, .24): expected counts
  // 50, 2, 3, 20, 1, 24. Left to right, closing a bin at 5 expected: 50 | 2+3 | 20 | 1+24.
  std::vector<double> expected = {50, 2, 3, 20, 1, 24};
  std::vector<double> actual = {40, 7, 0, 25, 3, 25};
  MergeSparseBins(5, &expected, &actual);
  EXPECT_EQ(expected, (std::vector<double>{50, 5, 20, 25}));
  EXPECT_EQ(actual, (std::vector<double>{40, 7, 25, 28}));
  // A short tail joins the last closed bin: 20 exams expect 12, 7.2, 0.4, 0.4 -> 12 | 8.
  expected = {60, 36, 2, 2};
  actual = {10, 5, 3, 2};
  MergeSparseBins(5, &expected, &actual);
  EXPECT_EQ(expected, (std::vector<double>{60, 40}));
  EXPECT_EQ(actual, (std::vector<double>{10, 10}));
  // Too few exams for two bins: one bin (every statistic is then 0).
  actual = {1, 0, 0, 1};
  expected = {50, 2, 2, 46};
  MergeSparseBins(5, &expected, &actual);
  EXPECT_EQ(expected, (std::vector<double>{100}));
  EXPECT_EQ(Psi(expected, actual), 0);
  // Nothing observed: unchanged.
  expected = {1, 2};
  actual = {0, 0};
  MergeSparseBins(5, &expected, &actual);
  EXPECT_EQ(expected.size(), 2u);
}

TEST(BinFeatures, BinsTheFloatTheModelReads) {
  // The trainer fits edges on float features: 0.003 as a float is 0.0030000000260770321. A live
  // 0.003 must land in the bin that starts there, as the training rows equal to it did.
  MonitoringReference reference;
  for (ReferenceBins& b : reference.features) b = {{static_cast<float>(0.003)}, {1, 1}};
  double features[kNumFeatures];
  for (double& f : features) f = 0.003;
  storage::ExamSignals signals;
  storage::BinFeatures(&reference, features, &signals);
  for (int i = 0; i < kNumFeatures; ++i) EXPECT_EQ(signals.feature_bins[i], 1) << i;
}

TEST(ReferenceBins, EdgesBelongToTheUpperBin) {
  ReferenceBins bins{{1, 2, 3}, {1, 1, 1, 1}};
  EXPECT_EQ(BinOf(bins, 0.5), 0);
  EXPECT_EQ(BinOf(bins, 1), 1);
  EXPECT_EQ(BinOf(bins, 2.5), 2);
  EXPECT_EQ(BinOf(bins, 3), 3);
  EXPECT_EQ(BinOf(bins, 1e9), 3);
}

TEST(ReferenceBins, DecilesOfOneToTwenty) {
  std::vector<double> v;
  for (int i = 1; i <= 20; ++i) v.push_back(21 - i);  // unsorted on purpose
  // value at index floor(q * 20) of 1..20: 3, 5, 7, ..., 19; two values per bin but the first
  // (1, 2) and the last (19, 20)
  ReferenceBins b = DecileBins(v);
  EXPECT_EQ(b.edges, (std::vector<double>{3, 5, 7, 9, 11, 13, 15, 17, 19}));
  EXPECT_EQ(b.counts, (std::vector<double>{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}));
}

TEST(ReferenceBins, TiesMergeAndTheMinimumIsNoEdge) {
  // 14 zeros and 1..6: quantile values 0 (x7: dropped, not above the minimum), then 1, 3, 5
  std::vector<double> v(14, 0.0);
  for (int i = 1; i <= 6; ++i) v.push_back(i);
  ReferenceBins b = DecileBins(v);
  EXPECT_EQ(b.edges, (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(b.counts, (std::vector<double>{14, 2, 2, 2}));
  EXPECT_TRUE(DecileBins(std::vector<double>(9, 4.0)).edges.empty());  // a constant: one bin
}

TEST(ReferenceBins, FitAndJsonRoundTrip) {
  // Four rows: feature i of row r = r * (i + 1); labels 0 0 1 2; predictions 0 1 1 2.
  std::vector<float> features(4 * kNumFeatures);
  for (int r = 0; r < 4; ++r) {
    for (int i = 0; i < kNumFeatures; ++i) features[r * kNumFeatures + i] = r * (i + 1.0f);
  }
  const int labels[4] = {0, 0, 1, 2};
  const float p[12] = {0.8f, 0.1f, 0.1f, 0.3f, 0.6f, 0.1f, 0.2f, 0.7f, 0.1f, 0.1f, 0.2f, 0.7f};
  MonitoringReference r;
  ASSERT_TRUE(FitMonitoringReference(features.data(), labels, p, {1, 2, 3, 4}, 4, &r).ok());
  EXPECT_EQ(r.rows, 4);
  EXPECT_EQ(r.class_prior, (std::array<double, 3>{0.5, 0.25, 0.25}));
  EXPECT_EQ(r.predicted_class_mix, (std::array<double, 3>{0.25, 0.5, 0.25}));
  // feature 1 values 0 2 4 6: quantiles at index floor(q*4) = 0,0,1,1,2,2,2,3,3 -> 2, 4, 6
  EXPECT_EQ(r.features[1].edges, (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(r.features[1].counts, (std::vector<double>{1, 1, 1, 1}));
  MonitoringReference back;
  ASSERT_TRUE(MonitoringReferenceFromJson(MonitoringReferenceToJson(r), &back).ok());
  EXPECT_EQ(MonitoringReferenceToJson(back), MonitoringReferenceToJson(r));
  EXPECT_EQ(back.features[1].edges, r.features[1].edges);
  EXPECT_EQ(back.ood_distance.counts, r.ood_distance.counts);
  // Damaged sections are refused, naming the field.
  std::string text = MonitoringReferenceToJson(r);
  Status s =
      MonitoringReferenceFromJson(text.replace(text.find("\"class_prior\""), 13, "\"class_prioX\""),
                                  &back);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("class_prior"), std::string::npos) << s.ToString();
  std::vector<float> nan_row = features;
  nan_row[5] = NAN;
  EXPECT_FALSE(FitMonitoringReference(nan_row.data(), labels, p, {}, 4, &r).ok());
}

TEST(DayCounts, AddCoversEveryCounterPacked) {
  // Every counter a distinct value (each int64 counter k + 1 in the varint form of one byte a
  // value: zigzag 2(k + 1) below 128), unpacked as the store reads a row: a - a must pack to all
  // zeros, and (a + a) - a to a, which holds only if Add and Subtract cover every counter.
  storage::DayCounts a;
  const std::string zeros = storage::PackDayCounts(a);
  std::string bytes = zeros;
  for (size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<char>(2 * (k % 60 + 1));
  ASSERT_TRUE(storage::UnpackDayCounts(bytes, &a));
  EXPECT_EQ(a.exams, 1);
  EXPECT_EQ(storage::PackDayCounts(a), bytes);  // round trip
  EXPECT_EQ(storage::PackDayCounts(storage::Subtract(a, a)), zeros);
  storage::DayCounts twice = a;
  twice.Add(a);
  EXPECT_EQ(storage::PackDayCounts(storage::Subtract(twice, a)), bytes);
  // Large and negative counts round-trip; bytes that run short or run over are refused.
  a.exams = -3;
  a.feature_bins[20][9] = int64_t{1} << 40;
  storage::DayCounts back;
  ASSERT_TRUE(storage::UnpackDayCounts(storage::PackDayCounts(a), &back));
  EXPECT_EQ(back.exams, -3);
  EXPECT_EQ(back.feature_bins[20][9], int64_t{1} << 40);
  EXPECT_FALSE(storage::UnpackDayCounts(bytes.substr(1), &back));
  EXPECT_FALSE(storage::UnpackDayCounts(bytes + '\x02', &back));
}

TEST(Days, ParseAndFormat) {
  int64_t day = -1;
  ASSERT_TRUE(text::ParseDay("1970-01-01", &day));
  EXPECT_EQ(day, 0);
  ASSERT_TRUE(text::ParseDay("2026-12-06", &day));
  EXPECT_EQ(day, 20793);
  ASSERT_TRUE(text::ParseDay("1900-03-01", &day));
  EXPECT_EQ(day, -25508);
  EXPECT_EQ(text::FormatDay(20793), "2026-12-06");
  EXPECT_EQ(text::FormatDay(-25508), "1900-03-01");
  for (const char* bad :
       {"2026-02-30", "2026-13-01", "2026-1-01", "2026-01-01T", "", "abcd-ef-gh"}) {
    EXPECT_FALSE(text::ParseDay(bad, &day)) << bad;
  }
}

}  // namespace
}  // namespace monitoring
}  // namespace fetal
