// The statistics monitoring reports: drift between two binned distributions, a goodness-of-fit
// test of a class mix, classification performance from a confusion matrix and calibration bins,
// and the label-free (confidence-based) performance estimate. docs/monitoring.md gives the
// formulas and why each was chosen.
//
// Thread-safety: pure functions. Inputs of mismatched sizes are a caller bug (asserted by the
// callers' tests); counts are non-negative.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace fetal {
namespace monitoring {

inline constexpr int kClasses = 3;

// Proportions below this are raised to it before PSI and JS take logarithms: an empty bin on
// either side contributes a large but finite amount instead of infinity.
inline constexpr double kMinProportion = 1e-4;

// Merges adjacent bins, left to right, until each merged bin expects at least `min_expected` of
// the actual total under the expected proportions; a short tail joins the last merged bin. Both
// vectors are merged alike (same sizes in, same sizes out). Why: with tied training values a
// decile bin can hold 1 % of the data, so a window of 100 exams expects one exam there, and
// the chi-square p-value (its approximation wants several expected per bin, more the smaller
// the p-value read) and PSI are then large by chance alone. Nothing is merged when either
// total is 0.
void MergeSparseBins(double min_expected, std::vector<double>* expected_counts,
                     std::vector<double>* actual_counts);

// Population stability index: sum over bins of (a - e) * ln(a / e), with a and e the actual and
// expected proportions (each count over its total, floored at kMinProportion). 0 when either
// total is 0.
double Psi(const std::vector<double>& expected_counts, const std::vector<double>& actual_counts);

// Jensen-Shannon divergence in bits (log base 2, so 0..1) between the two proportion vectors
// (unfloored: JS is finite with empty bins). 0 when either total is 0.
double JensenShannon(const std::vector<double>& expected_counts,
                     const std::vector<double>& actual_counts);

// Pearson's chi-square goodness of fit of observed counts against expected proportions (classes
// with expected proportion 0 are left out), with its p-value from the chi-square distribution
// with (classes used - 1) degrees of freedom. p_value 1 when nothing was observed.
struct ChiSquareResult {
  double chi2 = 0;
  int degrees_of_freedom = 0;
  double p_value = 1;
};
ChiSquareResult ChiSquareGoodnessOfFit(const std::vector<double>& observed,
                                       const std::vector<double>& expected_proportions);

// Upper regularized incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x >= 0.
double UpperRegularizedGamma(double a, double x);

// Wilson score interval of successes/n at z (1.96: 95 %). [0, 1] when n == 0.
std::array<double, 2> WilsonInterval(double successes, double n, double z = 1.96);

// rows = true class (the clinician's final reading), columns = predicted (the server's class).
using Confusion = std::array<std::array<int64_t, kClasses>, kClasses>;

struct Performance {
  int64_t n = 0;
  double accuracy = 0;
  std::array<double, 2> accuracy_ci{};    // Wilson 95 %
  double macro_f1 = 0;                    // mean F1 over classes present (support or predictions)
  std::array<double, kClasses> recall{};  // 0 for a class without support
  std::array<bool, kClasses> has_support{};
};
Performance PerformanceOf(const Confusion& confusion);

// Expected calibration error over confidence bins: sum_b (n_b / N) * |correct_b / n_b -
// confidence_sum_b / n_b|. 0 when N == 0.
double ExpectedCalibrationError(const std::vector<int64_t>& exams,
                                const std::vector<double>& confidence_sum,
                                const std::vector<int64_t>& correct);

// Confidence-based performance estimation (CBPE) from calibrated probabilities, without labels:
// each exam is right with probability p_top (its top probability), so the expected accuracy is
// mean(p_top) and the number right is Poisson-binomial with variance sum p_top (1 - p_top); the
// interval is the mean +/- z * sqrt(variance) / n, clipped to [0, 1]. Expected recall of class k
// = sum of p_k over exams predicted k / sum of p_k over all exams.
struct Estimate {
  double accuracy = 0;
  std::array<double, 2> accuracy_ci{};
  std::array<double, kClasses> recall{};
};
Estimate EstimatePerformance(int64_t n, double top_sum, double top_sq_sum,
                             const std::array<double, kClasses>& top_sum_by_predicted,
                             const std::array<double, kClasses>& probability_sum, double z = 1.96);

}  // namespace monitoring
}  // namespace fetal
