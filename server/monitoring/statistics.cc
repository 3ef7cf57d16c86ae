#include "monitoring/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fetal {
namespace monitoring {
namespace {

std::vector<double> Proportions(const std::vector<double>& counts, double floor) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> p(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) p[i] = std::max(counts[i] / total, floor);
  return p;
}

double Total(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// ln Gamma(a) for a > 0 (std::lgamma is not required to be thread-safe: it may write signgam).
double LogGamma(double a) {
  // Lanczos approximation, g = 7, 9 coefficients: ~15 significant digits.
  static const double c[9] = {0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
                              771.32342877765313,   -176.61502916214059,   12.507343278686905,
                              -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
  if (a < 0.5) return std::log(M_PI / std::sin(M_PI * a)) - LogGamma(1 - a);
  a -= 1;
  double x = c[0];
  for (int i = 1; i < 9; ++i) x += c[i] / (a + i);
  const double t = a + 7.5;
  return 0.5 * std::log(2 * M_PI) + (a + 0.5) * std::log(t) - t + std::log(x);
}

}  // namespace

void MergeSparseBins(double min_expected, std::vector<double>* expected_counts,
                     std::vector<double>* actual_counts) {
  const double expected_total = Total(*expected_counts);
  const double actual_total = Total(*actual_counts);
  if (expected_total <= 0 || actual_total <= 0) return;
  // A bin is closed once the actual total times its expected share reaches min_expected.
  const double enough = min_expected * expected_total / actual_total;
  std::vector<double> e, a;
  double e_open = 0, a_open = 0;
  for (size_t i = 0; i < expected_counts->size(); ++i) {
    e_open += (*expected_counts)[i];
    a_open += (*actual_counts)[i];
    if (e_open >= enough) {
      e.push_back(e_open);
      a.push_back(a_open);
      e_open = a_open = 0;
    }
  }
  if (e.empty()) {
    e.push_back(0);
    a.push_back(0);
  }
  e.back() += e_open;
  a.back() += a_open;
  *expected_counts = std::move(e);
  *actual_counts = std::move(a);
}

double Psi(const std::vector<double>& expected_counts, const std::vector<double>& actual_counts) {
  if (Total(expected_counts) <= 0 || Total(actual_counts) <= 0) return 0;
  const std::vector<double> e = Proportions(expected_counts, kMinProportion);
  const std::vector<double> a = Proportions(actual_counts, kMinProportion);
  double psi = 0;
  for (size_t i = 0; i < e.size(); ++i) psi += (a[i] - e[i]) * std::log(a[i] / e[i]);
  return psi;
}

double JensenShannon(const std::vector<double>& expected_counts,
                     const std::vector<double>& actual_counts) {
  if (Total(expected_counts) <= 0 || Total(actual_counts) <= 0) return 0;
  const std::vector<double> p = Proportions(expected_counts, 0);
  const std::vector<double> q = Proportions(actual_counts, 0);
  double js = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double m = (p[i] + q[i]) / 2;
    if (p[i] > 0) js += 0.5 * p[i] * std::log2(p[i] / m);
    if (q[i] > 0) js += 0.5 * q[i] * std::log2(q[i] / m);
  }
  return std::max(0.0, js);
}

double UpperRegularizedGamma(double a, double x) {
  if (x <= 0) return 1;
  const double log_prefix = -x + a * std::log(x) - LogGamma(a);
  if (x < a + 1) {
    // Series for P(a, x), then Q = 1 - P.
    double term = 1 / a, sum = term;
    for (int n = 1; n < 1000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
    }
    return std::max(0.0, 1 - sum * std::exp(log_prefix));
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::min(1.0, std::exp(log_prefix) * h);
}

ChiSquareResult ChiSquareGoodnessOfFit(const std::vector<double>& observed,
                                       const std::vector<double>& expected_proportions) {
  ChiSquareResult r;
  const double n = Total(observed);
  const double total_p = Total(expected_proportions);
  if (n <= 0 || total_p <= 0) return r;
  int used = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double p = expected_proportions[i] / total_p;
    if (p <= 0) continue;
    const double e = n * p;
    r.chi2 += (observed[i] - e) * (observed[i] - e) / e;
    ++used;
  }
  r.degrees_of_freedom = std::max(0, used - 1);
  r.p_value =
      r.degrees_of_freedom > 0 ? UpperRegularizedGamma(r.degrees_of_freedom / 2.0, r.chi2 / 2) : 1;
  return r;
}

std::array<double, 2> WilsonInterval(double successes, double n, double z) {
  if (n <= 0) return {0, 1};
  const double p = successes / n;
  const double z2 = z * z;
  const double center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

Performance PerformanceOf(const Confusion& m) {
  Performance r;
  int64_t right = 0;
  std::array<int64_t, kClasses> support{}, predicted{};
  for (int t = 0; t < kClasses; ++t) {
    for (int p = 0; p < kClasses; ++p) {
      r.n += m[t][p];
      support[t] += m[t][p];
      predicted[p] += m[t][p];
    }
    right += m[t][t];
  }
  if (r.n == 0) {
    r.accuracy_ci = {0, 1};
    return r;
  }
  r.accuracy = static_cast<double>(right) / r.n;
  r.accuracy_ci = WilsonInterval(right, r.n);
  double f1_sum = 0;
  int f1_classes = 0;
  for (int k = 0; k < kClasses; ++k) {
    r.has_support[k] = support[k] > 0;
    if (support[k] > 0) r.recall[k] = static_cast<double>(m[k][k]) / support[k];
    if (support[k] == 0 && predicted[k] == 0) continue;
    // F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (support + predicted).
    f1_sum += 2.0 * m[k][k] / (support[k] + predicted[k]);
    ++f1_classes;
  }
  r.macro_f1 = f1_classes ? f1_sum / f1_classes : 0;
  return r;
}

double ExpectedCalibrationError(const std::vector<int64_t>& exams,
                                const std::vector<double>& confidence_sum,
                                const std::vector<int64_t>& correct) {
  int64_t total = 0;
  for (int64_t n : exams) total += n;
  if (total == 0) return 0;
  double ece = 0;
  for (size_t b = 0; b < exams.size(); ++b) {
    if (exams[b] == 0) continue;
    ece += std::fabs(static_cast<double>(correct[b]) - confidence_sum[b]) / total;
  }
  return ece;
}

Estimate EstimatePerformance(int64_t n, double top_sum, double top_sq_sum,
                             const std::array<double, kClasses>& top_sum_by_predicted,
                             const std::array<double, kClasses>& probability_sum, double z) {
  Estimate e;
  if (n <= 0) {
    e.accuracy_ci = {0, 1};
    return e;
  }
  e.accuracy = top_sum / n;
  const double variance = std::max(0.0, top_sum - top_sq_sum);  // sum p (1 - p)
  const double half = z * std::sqrt(variance) / n;
  e.accuracy_ci = {std::max(0.0, e.accuracy - half), std::min(1.0, e.accuracy + half)};
  for (int k = 0; k < kClasses; ++k) {
    e.recall[k] = probability_sum[k] > 0 ? top_sum_by_predicted[k] / probability_sum[k] : 0;
  }
  return e;
}

}  // namespace monitoring
}  // namespace fetal
