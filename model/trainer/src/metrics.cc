#include "fetal/trainer/metrics.h"

#include <algorithm>
#include <cmath>

namespace fetal {
namespace trainer {
namespace {

constexpr double kProbabilityFloor = 1e-15;

int BinOf(double p) {
  int bin = static_cast<int>(p * kCalibrationBins);
  return std::min(std::max(bin, 0), kCalibrationBins - 1);  // p == 1 goes in the last bin
}

int ArgMaxRow(const float* p) {
  int best = 0;
  for (int c = 1; c < kNumClasses; ++c)
    if (p[c] > p[best]) best = c;
  return best;
}

}  // namespace

ClassificationMetrics ComputeMetrics(const float* probabilities, const int* labels, size_t n) {
  ClassificationMetrics m;
  m.rows = n;
  if (n == 0) return m;
  std::array<double, kCalibrationBins> bin_conf{}, bin_correct{};
  std::array<size_t, kCalibrationBins> bin_count{};
  double log_loss = 0, brier = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* p = probabilities + i * kNumClasses;
    int y = labels[i];
    int predicted = ArgMaxRow(p);
    m.confusion[y][predicted]++;
    log_loss -= std::log(std::max(static_cast<double>(p[y]), kProbabilityFloor));
    for (int c = 0; c < kNumClasses; ++c) {
      double diff = p[c] - (c == y ? 1.0 : 0.0);
      brier += diff * diff;
    }
    int bin = BinOf(p[predicted]);
    bin_count[bin]++;
    bin_conf[bin] += p[predicted];
    bin_correct[bin] += predicted == y ? 1.0 : 0.0;
  }
  m.log_loss = log_loss / n;
  m.brier = brier / n;
  double ece = 0;
  for (int b = 0; b < kCalibrationBins; ++b) {
    if (bin_count[b] > 0) ece += std::fabs(bin_correct[b] - bin_conf[b]) / n;
  }
  m.ece = ece;

  size_t correct = 0;
  double f1_sum = 0, recall_sum = 0;
  int classes_present = 0;
  for (int c = 0; c < kNumClasses; ++c) {
    correct += m.confusion[c][c];
    size_t actual = 0, predicted = 0;
    for (int k = 0; k < kNumClasses; ++k) {
      actual += m.confusion[c][k];
      predicted += m.confusion[k][c];
    }
    m.recall[c] = actual ? static_cast<double>(m.confusion[c][c]) / actual : 0.0;
    m.precision[c] = predicted ? static_cast<double>(m.confusion[c][c]) / predicted : 0.0;
    double denom = m.recall[c] + m.precision[c];
    m.f1[c] = denom > 0 ? 2 * m.recall[c] * m.precision[c] / denom : 0.0;
    f1_sum += m.f1[c];
    if (actual) {
      recall_sum += m.recall[c];
      ++classes_present;
    }
    double class_ece = 0;
    for (const ReliabilityBin& bin : ReliabilityTable(probabilities, labels, n, c)) {
      class_ece += static_cast<double>(bin.count) / n *
                   std::fabs(bin.observed_frequency - bin.mean_predicted);
    }
    m.class_ece[c] = class_ece;
  }
  m.accuracy = static_cast<double>(correct) / n;
  m.macro_f1 = f1_sum / kNumClasses;
  m.balanced_accuracy = classes_present ? recall_sum / classes_present : 0.0;
  return m;
}

std::vector<ReliabilityBin> ReliabilityTable(const float* probabilities, const int* labels,
                                             size_t n, int cls) {
  std::vector<ReliabilityBin> bins(kCalibrationBins);
  std::vector<double> positives(kCalibrationBins, 0.0);
  for (int b = 0; b < kCalibrationBins; ++b) {
    bins[b].lower = static_cast<double>(b) / kCalibrationBins;
    bins[b].upper = static_cast<double>(b + 1) / kCalibrationBins;
  }
  for (size_t i = 0; i < n; ++i) {
    double p = probabilities[i * kNumClasses + cls];
    ReliabilityBin& bin = bins[BinOf(p)];
    bin.count++;
    bin.mean_predicted += p;
    positives[BinOf(p)] += labels[i] == cls ? 1.0 : 0.0;
  }
  for (int b = 0; b < kCalibrationBins; ++b) {
    if (bins[b].count == 0) continue;
    bins[b].mean_predicted /= bins[b].count;
    bins[b].observed_frequency = positives[b] / bins[b].count;
  }
  return bins;
}

void SoftmaxWithTemperature(const float* margins, size_t n, double temperature,
                            float* probabilities) {
  for (size_t i = 0; i < n; ++i) {
    const float* m = margins + i * kNumClasses;
    double scaled[kNumClasses];
    double top = -INFINITY;
    for (int c = 0; c < kNumClasses; ++c) {
      scaled[c] = m[c] / temperature;
      top = std::max(top, scaled[c]);
    }
    double sum = 0;
    for (int c = 0; c < kNumClasses; ++c) sum += (scaled[c] = std::exp(scaled[c] - top));
    for (int c = 0; c < kNumClasses; ++c)
      probabilities[i * kNumClasses + c] = static_cast<float>(scaled[c] / sum);
  }
}

double LogLossAtTemperature(const float* margins, const int* labels, size_t n, double temperature) {
  if (n == 0) return 0;
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* m = margins + i * kNumClasses;
    double top = -INFINITY;
    for (int c = 0; c < kNumClasses; ++c) top = std::max(top, m[c] / temperature);
    double sum = 0;
    for (int c = 0; c < kNumClasses; ++c) sum += std::exp(m[c] / temperature - top);
    double p = std::exp(m[labels[i]] / temperature - top) / sum;
    total -= std::log(std::max(p, kProbabilityFloor));
  }
  return total / n;
}

MeanStd Summarize(const std::vector<double>& values) {
  MeanStd s;
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= values.size();
  if (values.size() < 2) return s;
  double ss = 0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(ss / (values.size() - 1));
  return s;
}

}  // namespace trainer
}  // namespace fetal
