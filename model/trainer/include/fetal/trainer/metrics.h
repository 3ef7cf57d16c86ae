// Classification metrics shared by `fetal-model cv`, the model card and the tuner.
//
// Definitions (n rows, K = 3 classes, p = predicted probabilities, y = true class):
//   accuracy           fraction with argmax(p) == y (ties go to the lower class)
//   recall[c]          correct predictions of c / rows of class c (0 if the class is absent)
//   precision[c], f1[c] the usual; 0 when undefined
//   macro_f1           mean of f1 over the K classes
//   balanced_accuracy  mean of recall over the classes present
//   log_loss           mean of -ln(max(p_y, 1e-15))
//   brier              mean over rows of sum over classes of (p_c - [y == c])^2   (range 0..2)
//   ece                top-label expected calibration error: rows binned by max(p) into 15
//                      equal-width bins on [0,1]; sum over bins of |bin| / n * |acc - conf|
//   class_ece[c]       the same one-vs-rest on p_c against [y == c], 15 bins
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "fetal/schema.h"

namespace fetal {
namespace trainer {

inline constexpr int kCalibrationBins = 15;

struct ReliabilityBin {
  double lower = 0, upper = 0;    // probability interval [lower, upper) ([.., 1] for the last)
  size_t count = 0;               // rows whose probability falls in the bin
  double mean_predicted = 0;      // mean probability in the bin (0 if empty)
  double observed_frequency = 0;  // fraction of those rows that are positive (0 if empty)
};

struct ClassificationMetrics {
  size_t rows = 0;
  double accuracy = 0, macro_f1 = 0, balanced_accuracy = 0, log_loss = 0, brier = 0, ece = 0;
  std::array<double, kNumClasses> recall{}, precision{}, f1{}, class_ece{};
  // confusion[true][predicted]
  std::array<std::array<size_t, kNumClasses>, kNumClasses> confusion{};
};

// probabilities: n * kNumClasses, row-major; labels: n values in 0..kNumClasses-1.
ClassificationMetrics ComputeMetrics(const float* probabilities, const int* labels, size_t n);

// One-vs-rest reliability table of class `cls` (15 equal-width bins).
std::vector<ReliabilityBin> ReliabilityTable(const float* probabilities, const int* labels,
                                             size_t n, int cls);

// Mean log loss of softmax(margins / temperature) (clipped at 1e-15), in double precision.
double LogLossAtTemperature(const float* margins, const int* labels, size_t n, double temperature);

// Softmax of margins / temperature, n rows.
void SoftmaxWithTemperature(const float* margins, size_t n, double temperature,
                            float* probabilities);

struct MeanStd {
  double mean = 0;
  double std = 0;  // sample standard deviation (n - 1 denominator); 0 for fewer than 2 values
};
MeanStd Summarize(const std::vector<double>& values);

}  // namespace trainer
}  // namespace fetal
