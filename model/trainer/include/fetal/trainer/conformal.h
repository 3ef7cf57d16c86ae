// Class-conditional (Mondrian) conformal prediction sets: calibrating them on out-of-fold
// probabilities and measuring their coverage (docs/training.md).
//
// Calibration, per class c with n_c calibration rows of true class c, nonconformity score
// 1 - p_c: the set includes c when 1 - p_c is at most the k-th smallest calibration score,
// k = ceil((n_c + 1) * level), i.e. when p_c >= floor_c = the k-th largest p_c among those rows
// (floor 0 when k > n_c). For an exam of class c exchangeable with them, P(c in set) >= level.
// The model core's PredictionSet (model.h) applies the floors and always adds the predicted class.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "fetal/model.h"

namespace fetal {
namespace trainer {

// probabilities: n * kNumClasses calibrated, out-of-fold; labels: n classes. level in (0, 1).
ConformalSets FitConformalSets(const float* probabilities, const int* labels, size_t n,
                               double level);

// How prediction sets did on labelled rows.
struct SetCoverage {
  std::array<int64_t, kNumClasses> calibration_rows{};  // of the sets measured (ConformalSets)
  std::array<size_t, kNumClasses> rows{};               // rows of each true class
  std::array<size_t, kNumClasses> covered{};            // ... whose set holds their class
  std::array<size_t, kNumClasses + 1> size_counts{};    // rows whose set has 0..3 classes
  double coverage(int c) const { return rows[c] ? double(covered[c]) / rows[c] : 0; }
  double mean_size() const;
  void Add(const SetCoverage& other);
};

SetCoverage MeasureCoverage(const ConformalSets& sets, const float* probabilities,
                            const int* labels, size_t n);

// The finite-sample allowance: how far below `level` the coverage of one class on one test fold
// may fall by chance alone. With sets calibrated on n exams of the class and m test exams of it,
// exact conformal coverage makes the number covered Beta-Binomial(m, k, n + 1 - k),
// k = ceil((n + 1) level): the calibration draw and the test draw both vary. The allowance is
// level - x / m for the smallest count x whose lower tail P(covered <= x) reaches
// `family_error` / `checks` (Bonferroni: with `checks` fold-and-class checks, all of them pass
// together with probability >= 1 - family_error). A count below x is a real shortfall.
double CoverageAllowance(double level, int64_t calibration_rows, size_t test_rows, size_t checks,
                         double family_error = 0.05);

// Coverage over cross-validation splits, per class; every (split, class) is one check.
struct CoverageSummary {
  std::array<double, kNumClasses> rows_per_split{};  // mean test rows of the class per split
  std::array<double, kNumClasses> mean{}, min{};     // coverage over the splits
  std::array<double, kNumClasses> allowance{};       // largest CoverageAllowance of any split
  std::array<int, kNumClasses> below{};  // splits whose coverage < level - their allowance
  SetCoverage pooled;                    // every split's test rows together
};
CoverageSummary SummarizeCoverage(const std::vector<SetCoverage>& splits, double level);

}  // namespace trainer
}  // namespace fetal
