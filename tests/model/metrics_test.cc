// Metrics on small hand-computed cases.
#include "fetal/trainer/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fetal {
namespace trainer {
namespace {

// Four rows: two Normal, one Suspect, one Pathological.
//   row 0  y=0  p=(0.7, 0.2, 0.1)  predicted 0  correct
//   row 1  y=0  p=(0.4, 0.5, 0.1)  predicted 1  wrong
//   row 2  y=1  p=(0.1, 0.8, 0.1)  predicted 1  correct
//   row 3  y=2  p=(0.2, 0.2, 0.6)  predicted 2  correct
const float kProbabilities[] = {0.7f, 0.2f, 0.1f, 0.4f, 0.5f, 0.1f,
                                0.1f, 0.8f, 0.1f, 0.2f, 0.2f, 0.6f};
const int kLabels[] = {0, 0, 1, 2};

TEST(ComputeMetrics, HandComputedCase) {
  ClassificationMetrics m = ComputeMetrics(kProbabilities, kLabels, 4);
  EXPECT_EQ(m.rows, 4u);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  // Recall: Normal 1/2, Suspect 1/1, Pathological 1/1.
  EXPECT_DOUBLE_EQ(m.recall[0], 0.5);
  EXPECT_DOUBLE_EQ(m.recall[1], 1.0);
  EXPECT_DOUBLE_EQ(m.recall[2], 1.0);
  // Precision: Normal 1/1, Suspect 1/2, Pathological 1/1.
  EXPECT_DOUBLE_EQ(m.precision[1], 0.5);
  // F1: Normal 2/3, Suspect 2/3, Pathological 1.
  EXPECT_NEAR(m.macro_f1, (2.0 / 3 + 2.0 / 3 + 1) / 3, 1e-12);
  EXPECT_NEAR(m.balanced_accuracy, (0.5 + 1 + 1) / 3, 1e-12);
  EXPECT_EQ(m.confusion[0][0], 1u);
  EXPECT_EQ(m.confusion[0][1], 1u);
  EXPECT_EQ(m.confusion[1][1], 1u);
  EXPECT_EQ(m.confusion[2][2], 1u);
  // Log loss: -(ln .7 + ln .4 + ln .8 + ln .6) / 4 (float inputs, so 1e-6).
  EXPECT_NEAR(m.log_loss, -(std::log(0.7) + std::log(0.4) + std::log(0.8) + std::log(0.6)) / 4,
              1e-6);
  // Brier: row sums of squared errors .14, .62, .06, .24 -> mean .265.
  EXPECT_NEAR(m.brier, (0.14 + 0.62 + 0.06 + 0.24) / 4, 1e-6);
  // Top-label ECE, 15 bins of width 1/15: confidences .7 (bin 10), .5 (bin 7), .8 (bin 12),
  // .6 (bin 9) are alone in their bins: (|1-.7| + |0-.5| + |1-.8| + |1-.6|) / 4.
  EXPECT_NEAR(m.ece, (0.3 + 0.5 + 0.2 + 0.4) / 4, 1e-6);
}

TEST(ComputeMetrics, EceAveragesWithinABin) {
  // Both rows have confidence 0.9 (same bin), one right, one wrong: |0.5 - 0.9| = 0.4.
  const float p[] = {0.9f, 0.05f, 0.05f, 0.9f, 0.05f, 0.05f};
  const int y[] = {0, 1};
  EXPECT_NEAR(ComputeMetrics(p, y, 2).ece, 0.4, 1e-6);
}

TEST(ComputeMetrics, LogLossIsClippedAndTiesGoToTheLowerClass) {
  const float p[] = {0.5f, 0.5f, 0.0f};
  const int y[] = {2};
  ClassificationMetrics m = ComputeMetrics(p, y, 1);
  EXPECT_NEAR(m.log_loss, -std::log(1e-15), 1e-9);
  EXPECT_EQ(m.confusion[2][0], 1u);            // tie 0.5/0.5 -> Normal
  EXPECT_DOUBLE_EQ(m.recall[1], 0.0);          // absent class: 0, not NaN
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, 0.0);  // mean over the one present class
}

TEST(ReliabilityTable, OneVsRestBins) {
  std::vector<ReliabilityBin> bins = ReliabilityTable(kProbabilities, kLabels, 4, 1);
  ASSERT_EQ(bins.size(), 15u);
  // Suspect probabilities .2 .5 .8 .2: bin 3 holds rows 0 and 3 (neither Suspect).
  EXPECT_EQ(bins[3].count, 2u);
  EXPECT_NEAR(bins[3].mean_predicted, 0.2, 1e-6);
  EXPECT_DOUBLE_EQ(bins[3].observed_frequency, 0.0);
  EXPECT_EQ(bins[12].count, 1u);
  EXPECT_DOUBLE_EQ(bins[12].observed_frequency, 1.0);
  size_t total = 0;
  for (const ReliabilityBin& b : bins) total += b.count;
  EXPECT_EQ(total, 4u);
  // Per-class ECE in ComputeMetrics is the count-weighted gap of this table:
  // bin 3: 2/4*.2, bin 7 (.5, not Suspect): 1/4*.5, bin 12: 1/4*.2.
  EXPECT_NEAR(ComputeMetrics(kProbabilities, kLabels, 4).class_ece[1],
              0.5 * 0.2 + 0.25 * 0.5 + 0.25 * 0.2, 1e-6);
}

TEST(Temperature, SoftmaxAndLogLossAgree) {
  const float margins[] = {2.0f, 0.0f, -1.0f, 0.5f, 1.5f, 0.0f};
  const int labels[] = {0, 2};
  float p[6];
  for (double t : {0.5, 1.0, 3.0}) {
    SoftmaxWithTemperature(margins, 2, t, p);
    EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-6);
    double expected = -(std::log(p[0]) + std::log(p[5])) / 2;
    EXPECT_NEAR(LogLossAtTemperature(margins, labels, 2, t), expected, 1e-6);
  }
  // Higher temperature flattens.
  SoftmaxWithTemperature(margins, 1, 100.0, p);
  EXPECT_NEAR(p[0], 1.0 / 3, 0.01);
}

TEST(Summarize, SampleStandardDeviation) {
  MeanStd s = Summarize({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.std, std::sqrt(5.0 / 3), 1e-12);
  EXPECT_DOUBLE_EQ(Summarize({7}).std, 0.0);
}

}  // namespace
}  // namespace trainer
}  // namespace fetal
