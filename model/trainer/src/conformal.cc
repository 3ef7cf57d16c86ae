#include "fetal/trainer/conformal.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace fetal {
namespace trainer {

ConformalSets FitConformalSets(const float* probabilities, const int* labels, size_t n,
                               double level) {
  ConformalSets sets;
  sets.level = level;
  for (int c = 0; c < kNumClasses; ++c) {
    std::vector<float> p;
    for (size_t i = 0; i < n; ++i)
      if (labels[i] == c) p.push_back(probabilities[i * kNumClasses + c]);
    sets.calibration_rows[c] = static_cast<int64_t>(p.size());
    const size_t k = static_cast<size_t>(std::ceil((p.size() + 1) * level - 1e-9));
    if (k > p.size()) {
      sets.floor[c] = 0;  // too few rows to exclude the class from any set
      continue;
    }
    // The k-th largest probability (1-based).
    std::nth_element(p.begin(), p.begin() + (k - 1), p.end(), std::greater<float>());
    sets.floor[c] = p[k - 1];
  }
  return sets;
}

double SetCoverage::mean_size() const {
  size_t total = 0, weighted = 0;
  for (int s = 0; s <= kNumClasses; ++s) {
    total += size_counts[s];
    weighted += s * size_counts[s];
  }
  return total ? double(weighted) / total : 0;
}

void SetCoverage::Add(const SetCoverage& other) {
  for (int c = 0; c < kNumClasses; ++c) {
    rows[c] += other.rows[c];
    covered[c] += other.covered[c];
  }
  for (int s = 0; s <= kNumClasses; ++s) size_counts[s] += other.size_counts[s];
}

SetCoverage MeasureCoverage(const ConformalSets& sets, const float* probabilities,
                            const int* labels, size_t n) {
  SetCoverage out;
  out.calibration_rows = sets.calibration_rows;
  for (size_t i = 0; i < n; ++i) {
    const unsigned set = PredictionSet(sets, probabilities + i * kNumClasses);
    const int y = labels[i];
    out.rows[y]++;
    out.covered[y] += (set >> y) & 1u;
    int size = 0;
    for (int c = 0; c < kNumClasses; ++c) size += (set >> c) & 1u;
    out.size_counts[size]++;
  }
  return out;
}

CoverageSummary SummarizeCoverage(const std::vector<SetCoverage>& splits, double level) {
  CoverageSummary out;
  const size_t checks = splits.size() * kNumClasses;
  for (int c = 0; c < kNumClasses; ++c) {
    out.min[c] = splits.empty() ? 0 : 1;
    for (const SetCoverage& s : splits) {
      const double coverage = s.coverage(c);
      const double allowance = CoverageAllowance(level, s.calibration_rows[c], s.rows[c], checks);
      out.rows_per_split[c] += double(s.rows[c]) / splits.size();
      out.mean[c] += coverage / splits.size();
      out.min[c] = std::min(out.min[c], coverage);
      out.allowance[c] = std::max(out.allowance[c], allowance);
      out.below[c] += coverage < level - allowance - 1e-12;
    }
  }
  for (const SetCoverage& s : splits) out.pooled.Add(s);
  return out;
}

double CoverageAllowance(double level, int64_t calibration_rows, size_t test_rows, size_t checks,
                         double family_error) {
  if (test_rows == 0) return 1;
  const double n = static_cast<double>(std::max<int64_t>(calibration_rows, 0));
  const double k = std::ceil((n + 1) * level - 1e-9);
  if (k > n) return 0;  // the class is in every set: covered always
  const double a = k, b = n + 1 - k, m = static_cast<double>(test_rows);
  auto log_beta = [](double x, double y) {
    return std::lgamma(x) + std::lgamma(y) - std::lgamma(x + y);
  };
  const double tail = family_error / std::max<size_t>(checks, 1);
  double cumulative = 0;
  for (size_t x = 0; x <= test_rows; ++x) {
    const double j = static_cast<double>(x);
    cumulative += std::exp(std::lgamma(m + 1) - std::lgamma(j + 1) - std::lgamma(m - j + 1) +
                           log_beta(j + a, m - j + b) - log_beta(a, b));
    if (cumulative >= tail) return std::max(0.0, level - j / m);
  }
  return 0;
}

}  // namespace trainer
}  // namespace fetal
