#include "monitoring/paired_test.h"

#include <algorithm>
#include <cmath>

namespace fetal {
namespace monitoring {
namespace {

// P(X = k) for X ~ Binomial(n, 1/2), in log space so that n in the millions stays finite.
double HalfBinomialPmf(int64_t n, int64_t k) {
  const double log_choose = std::lgamma(static_cast<double>(n) + 1) -
                            std::lgamma(static_cast<double>(k) + 1) -
                            std::lgamma(static_cast<double>(n - k) + 1);
  return std::exp(log_choose - static_cast<double>(n) * std::log(2.0));
}

}  // namespace

McNemarResult McNemar(int64_t only_a_right, int64_t only_b_right) {
  McNemarResult r;
  const int64_t n = only_a_right + only_b_right;
  r.discordant = n;
  if (n <= 0) return r;
  const int64_t k = std::min(only_a_right, only_b_right);
  double tail = 0;  // P(X <= k)
  for (int64_t i = 0; i <= k; ++i) tail += HalfBinomialPmf(n, i);
  r.exact_p = std::min(1.0, 2 * tail);
  r.mid_p = std::min(1.0, 2 * tail - HalfBinomialPmf(n, k));
  return r;
}

PairedDifference AccuracyDifference(int64_t only_a_right, int64_t only_b_right, int64_t n,
                                    double z) {
  PairedDifference r;
  if (n <= 0) return r;
  const double b = static_cast<double>(only_a_right), c = static_cast<double>(only_b_right);
  const double N = static_cast<double>(n);
  r.difference = (c - b) / N;
  const double variance = std::max(0.0, (b + c) - (c - b) * (c - b) / N) / (N * N);
  const double half = z * std::sqrt(variance);
  r.ci = {std::max(-1.0, r.difference - half), std::min(1.0, r.difference + half)};
  return r;
}

}  // namespace monitoring
}  // namespace fetal
