// Comparing two classifiers on the same exams: McNemar's test on the discordant pairs and an
// interval for the difference in accuracy. docs/model-changes.md gives the formulas and why the
// mid-p version is the one the gates read.
//
// Thread-safety: pure functions. Counts are non-negative.
#pragma once

#include <array>
#include <cstdint>

namespace fetal {
namespace monitoring {

// Of the exams both models classified and that have an outcome:
//   only_a_right: model A right, model B wrong;  only_b_right: A wrong, B right.
// Pairs where both are right or both wrong say nothing about which is better.
struct McNemarResult {
  int64_t discordant = 0;  // only_a_right + only_b_right
  // Two-sided exact conditional p-value: 2 * P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2),
  // capped at 1; 1 when there are no discordant pairs.
  double exact_p = 1;
  // Two-sided mid-p: the exact p-value minus P(X = min(b, c)); less conservative, with close to
  // nominal size (Fagerland, Lydersen and Laake 2013). 1 when there are no discordant pairs.
  double mid_p = 1;
};
McNemarResult McNemar(int64_t only_a_right, int64_t only_b_right);

// Accuracy of B minus accuracy of A on n paired exams, (only_b_right - only_a_right) / n, with
// its Wald interval for paired proportions at z (1.96: 95 %), clipped to [-1, 1]. The variance
// is ((b + c) - (c - b)^2 / n) / n^2 with b = only_a_right, c = only_b_right. {0, {-1, 1}} when
// n == 0.
struct PairedDifference {
  double difference = 0;
  std::array<double, 2> ci{-1, 1};
};
PairedDifference AccuracyDifference(int64_t only_a_right, int64_t only_b_right, int64_t n,
                                    double z = 1.96);

}  // namespace monitoring
}  // namespace fetal
