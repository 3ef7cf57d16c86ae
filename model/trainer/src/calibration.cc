#include "fetal/trainer/calibration.h"

#include <algorithm>
#include <cmath>

#include "fetal/trainer/metrics.h"

namespace fetal {
namespace trainer {
namespace {

constexpr double kProbabilityFloor = 1e-15;
// Vector scaling's parameters: scale of each class, then the biases of Suspect and Pathological.
constexpr int kVectorParams = kNumClasses + kNumClasses - 1;

// z = scale * margin + bias; returns -log p[label] and fills p.
double Softmax(const Calibration& cal, const float* margin, int label, double* p) {
  double top = -INFINITY;
  for (int c = 0; c < kNumClasses; ++c) {
    p[c] = cal.scale[c] * margin[c] + cal.bias[c];
    top = std::max(top, p[c]);
  }
  double sum = 0;
  for (int c = 0; c < kNumClasses; ++c) sum += (p[c] = std::exp(p[c] - top));
  for (int c = 0; c < kNumClasses; ++c) p[c] /= sum;
  return -std::log(std::max(p[label], kProbabilityFloor));
}

Calibration FromParams(const double* theta) {
  Calibration cal;
  cal.kind = Calibrator::kVectorScaling;
  for (int c = 0; c < kNumClasses; ++c) cal.scale[c] = theta[c];
  cal.bias = {0, theta[kNumClasses], theta[kNumClasses + 1]};
  return cal;
}

double MeanLoss(const Calibration& cal, const float* margins, const int* labels,
                const std::vector<size_t>& rows) {
  double p[kNumClasses], total = 0;
  for (size_t i : rows) total += Softmax(cal, margins + i * kNumClasses, labels[i], p);
  return total / rows.size();
}

// Solves a x = b (n <= kVectorParams) by Gaussian elimination with partial pivoting; false if
// singular.
bool Solve(double a[kVectorParams][kVectorParams], double* b, int n, double* x) {
  for (int i = 0; i < n; ++i) {
    int pivot = i;
    for (int r = i + 1; r < n; ++r)
      if (std::fabs(a[r][i]) > std::fabs(a[pivot][i])) pivot = r;
    if (!(std::fabs(a[pivot][i]) > 1e-300)) return false;
    std::swap(a[i], a[pivot]);
    std::swap(b[i], b[pivot]);
    for (int r = i + 1; r < n; ++r) {
      const double f = a[r][i] / a[i][i];
      for (int c = i; c < n; ++c) a[r][c] -= f * a[i][c];
      b[r] -= f * b[i];
    }
  }
  for (int i = n - 1; i >= 0; --i) {
    double s = b[i];
    for (int c = i + 1; c < n; ++c) s -= a[i][c] * x[c];
    x[i] = s / a[i][i];
  }
  return true;
}

// Newton's method with backtracking on the (convex) mean log loss, from the temperature fit.
Calibration FitVectorScaling(const float* margins, const int* labels,
                             const std::vector<size_t>& rows, double temperature) {
  double theta[kVectorParams] = {};
  for (int c = 0; c < kNumClasses; ++c) theta[c] = 1 / temperature;
  double loss = MeanLoss(FromParams(theta), margins, labels, rows);
  for (int iteration = 0; iteration < 50; ++iteration) {
    // d z_c / d theta_j: margin_c for the scale of c, 1 for the bias of c (c >= 1).
    double gradient[kVectorParams] = {}, hessian[kVectorParams][kVectorParams] = {};
    const Calibration cal = FromParams(theta);
    for (size_t i : rows) {
      const float* m = margins + i * kNumClasses;
      double p[kNumClasses];
      Softmax(cal, m, labels[i], p);
      double dz[kNumClasses][kVectorParams] = {};
      for (int c = 0; c < kNumClasses; ++c) {
        dz[c][c] = m[c];
        if (c > 0) dz[c][kNumClasses + c - 1] = 1;
      }
      for (int c = 0; c < kNumClasses; ++c) {
        const double residual = p[c] - (c == labels[i] ? 1 : 0);
        for (int j = 0; j < kVectorParams; ++j) gradient[j] += residual * dz[c][j];
        for (int d = 0; d < kNumClasses; ++d) {
          const double w = p[c] * ((c == d ? 1 : 0) - p[d]);
          for (int j = 0; j < kVectorParams; ++j)
            for (int k = 0; k < kVectorParams; ++k) hessian[j][k] += dz[c][j] * w * dz[d][k];
        }
      }
    }
    for (int j = 0; j < kVectorParams; ++j) {
      gradient[j] /= rows.size();
      for (int k = 0; k < kVectorParams; ++k) hessian[j][k] /= rows.size();
      hessian[j][j] += 1e-9;  // keeps it invertible when a class is absent
    }
    double step[kVectorParams];
    if (!Solve(hessian, gradient, kVectorParams, step)) break;
    double next[kVectorParams], next_loss = loss;
    for (double t = 1; t > 1e-6; t /= 2) {
      for (int j = 0; j < kVectorParams; ++j) next[j] = theta[j] - t * step[j];
      next_loss = MeanLoss(FromParams(next), margins, labels, rows);
      if (next_loss <= loss) break;
    }
    if (!(next_loss <= loss)) break;
    const double gain = loss - next_loss;
    std::copy(next, next + kVectorParams, theta);
    loss = next_loss;
    if (gain < 1e-12) break;
  }
  return FromParams(theta);
}

}  // namespace

const char* CalibratorName(Calibrator calibrator) {
  return calibrator == Calibrator::kVectorScaling ? "vector" : "temperature";
}

bool ParseCalibrator(const std::string& name, Calibrator* out) {
  if (name == "temperature") {
    *out = Calibrator::kTemperature;
  } else if (name == "vector") {
    *out = Calibrator::kVectorScaling;
  } else {
    return false;
  }
  return true;
}

double FitTemperature(const float* margins, const int* labels, size_t n) {
  auto loss = [&](double log_t) {
    return LogLossAtTemperature(margins, labels, n, std::exp(log_t));
  };
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(1.0 / 20), b = std::log(20.0);
  double c = b - golden * (b - a), d = a + golden * (b - a);
  double fc = loss(c), fd = loss(d);
  while (b - a > 1e-7) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - golden * (b - a);
      fc = loss(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + golden * (b - a);
      fd = loss(d);
    }
  }
  return std::exp((a + b) / 2);
}

Calibration FitCalibration(Calibrator kind, const float* margins, const int* labels, size_t n,
                           const std::vector<size_t>& subset) {
  std::vector<size_t> rows = subset;
  if (rows.empty()) {
    rows.resize(n);
    for (size_t i = 0; i < n; ++i) rows[i] = i;
  }
  std::vector<float> m(rows.size() * kNumClasses);
  std::vector<int> y(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(margins + rows[i] * kNumClasses, kNumClasses, &m[i * kNumClasses]);
    y[i] = labels[rows[i]];
  }
  const double temperature = FitTemperature(m.data(), y.data(), rows.size());
  if (kind == Calibrator::kVectorScaling)
    return FitVectorScaling(margins, labels, rows, temperature);
  Calibration cal;
  cal.scale.fill(1 / temperature);
  return cal;
}

void Calibrate(const Calibration& calibration, const float* margins, size_t n,
               float* probabilities) {
  double p[kNumClasses];
  for (size_t i = 0; i < n; ++i) {
    Softmax(calibration, margins + i * kNumClasses, 0, p);
    for (int c = 0; c < kNumClasses; ++c) probabilities[i * kNumClasses + c] = float(p[c]);
  }
}

void CrossFittedProbabilities(Calibrator kind, const float* margins, const int* labels, size_t n,
                              const std::vector<int>& fold, int folds, float* probabilities) {
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> fit, apply;
    for (size_t i = 0; i < n; ++i) (fold[i] == f ? apply : fit).push_back(i);
    if (apply.empty() || fit.empty()) continue;
    const Calibration cal = FitCalibration(kind, margins, labels, n, fit);
    for (size_t i : apply)
      Calibrate(cal, margins + i * kNumClasses, 1, probabilities + i * kNumClasses);
  }
}

void ApplyCalibration(const Calibration& calibration, Model* model) {
  if (calibration.kind == Calibrator::kTemperature) {
    model->temperature = calibration.temperature();
    return;
  }
  for (Tree& tree : model->trees) {
    const double scale = calibration.scale[tree.target_class];
    for (size_t node = 0; node < tree.size(); ++node) {
      if (tree.is_leaf(node)) tree.value[node] = float(tree.value[node] * scale);
    }
  }
  for (int c = 0; c < kNumClasses; ++c) {
    model->base_score[c] = float(model->base_score[c] * calibration.scale[c] + calibration.bias[c]);
  }
  model->temperature = 1;
}

}  // namespace trainer
}  // namespace fetal
