// Out-of-distribution reference and check. See docs/features.md ("OOD transform") for the
// choices: transform, scale floor, shrinkage, missing values.
#include "fetal/ood.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Dense>

namespace fetal {

namespace {

using Vec = Eigen::Matrix<double, kNumFeatures, 1>;
using Mat = Eigen::Matrix<double, kNumFeatures, kNumFeatures, Eigen::RowMajor>;

// Rates become counts per 10 minutes before log1p: log1p of a rate like 0.003 s^-1 would be
// linear and leave their long right tail untouched.
constexpr double kRateToPer10Min = 600;
// Smallest standard deviation used to standardize (in transformed units). A feature that is
// constant in training (severe_decelerations is always 0) then makes any other value far away,
// which is what we want: the model never saw it vary.
constexpr double kMinScale = 1e-3;
// Shrinkage of the correlation matrix toward the identity. Histogram mean, median and mode are
// nearly collinear; without it the inverse amplifies noise along their differences.
constexpr double kShrinkage = 0.01;

double Transform(int feature, double x) {
  const FeatureSpec& spec = FeatureSchema()[feature];
  if (!spec.log1p_for_ood) return x;
  if (spec.kind == FeatureKind::kEventRate) x *= kRateToPer10Min;
  // Sign-symmetric so an invalid negative input still yields a finite, far-away value.
  return x >= 0 ? std::log1p(x) : -std::log1p(-x);
}

// Linear interpolation between order statistics (the usual "type 7" sample quantile).
double Quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace

OodResult CheckOod(const Model& model, const float* features) {
  OodResult result;
  result.threshold = model.ood.threshold;
  for (int i = 0; i < kNumFeatures; ++i) {
    const float x = features[i];
    if (x < model.training_range.min[i] || x > model.training_range.max[i]) {
      result.out_of_range.push_back(i);
    }
  }
  if (model.ood.inverse_covariance.size() != static_cast<size_t>(kNumFeatures * kNumFeatures)) {
    result.distance = std::numeric_limits<double>::quiet_NaN();  // no reference: cannot tell
    return result;
  }

  const Eigen::Map<const Mat> precision(model.ood.inverse_covariance.data());
  Vec z;
  int missing = 0;
  for (int i = 0; i < kNumFeatures; ++i) {
    const double x = features[i];
    if (std::isnan(x)) {
      z[i] = 0;
      ++missing;
    } else {
      z[i] = (Transform(i, x) - model.ood.mean[i]) / model.ood.scale[i];
    }
  }
  double squared = 0;
  if (missing == 0) {
    squared = z.dot(precision * z);
  } else if (missing < kNumFeatures) {
    // Distance in the marginal distribution of the features present: its precision matrix is
    // the Schur complement P_oo - P_om P_mm^-1 P_mo of the missing block.
    std::vector<int> present, absent;
    for (int i = 0; i < kNumFeatures; ++i) {
      (std::isnan(features[i]) ? absent : present).push_back(i);
    }
    const int no = static_cast<int>(present.size()), nm = static_cast<int>(absent.size());
    Eigen::MatrixXd p_oo(no, no), p_om(no, nm), p_mm(nm, nm);
    Eigen::VectorXd z_o(no);
    for (int a = 0; a < no; ++a) {
      z_o[a] = z[present[a]];
      for (int b = 0; b < no; ++b) p_oo(a, b) = precision(present[a], present[b]);
      for (int b = 0; b < nm; ++b) p_om(a, b) = precision(present[a], absent[b]);
    }
    for (int a = 0; a < nm; ++a) {
      for (int b = 0; b < nm; ++b) p_mm(a, b) = precision(absent[a], absent[b]);
    }
    const Eigen::MatrixXd marginal = p_oo - p_om * p_mm.ldlt().solve(p_om.transpose());
    squared = z_o.dot(marginal * z_o);
  }
  result.distance = std::sqrt(std::max(0.0, squared));
  result.out_of_distribution = result.distance > result.threshold;
  return result;
}

Status FitOodReference(const float* features, size_t n, double quantile, Model* model) {
  if (model == nullptr || (features == nullptr && n > 0)) {
    return Status::InvalidArgument("FitOodReference needs training features and a model");
  }
  if (n <= static_cast<size_t>(kNumFeatures)) {
    return Status::InvalidArgument("the OOD reference needs more training exams than features (" +
                                   std::to_string(kNumFeatures) + "), got " + std::to_string(n));
  }
  if (!(quantile > 0 && quantile < 1)) {
    return Status::InvalidArgument(
        "the OOD threshold quantile must be between 0 and 1 (exclusive), got " +
            std::to_string(quantile),
        "quantile");
  }
  for (size_t r = 0; r < n; ++r) {
    for (int i = 0; i < kNumFeatures; ++i) {
      if (!std::isfinite(features[r * kNumFeatures + i])) {
        return Status::InvalidArgument("training exam " + std::to_string(r) +
                                           " has a missing or non-finite " +
                                           std::string(FeatureSchema()[i].name) +
                                           "; the OOD reference needs complete exams",
                                       std::string(FeatureSchema()[i].key));
      }
    }
  }

  TrainingRange range;
  range.min.fill(std::numeric_limits<float>::infinity());
  range.max.fill(-std::numeric_limits<float>::infinity());
  Eigen::MatrixXd t(static_cast<Eigen::Index>(n), kNumFeatures);
  for (size_t r = 0; r < n; ++r) {
    for (int i = 0; i < kNumFeatures; ++i) {
      const float x = features[r * kNumFeatures + i];
      range.min[i] = std::min(range.min[i], x);
      range.max[i] = std::max(range.max[i], x);
      t(static_cast<Eigen::Index>(r), i) = Transform(i, x);
    }
  }

  const Vec mean = t.colwise().mean().transpose();
  t.rowwise() -= mean.transpose();
  Vec scale;
  for (int i = 0; i < kNumFeatures; ++i) {
    const double sd = std::sqrt(t.col(i).squaredNorm() / static_cast<double>(n - 1));
    scale[i] = std::max(sd, kMinScale);
    t.col(i) /= scale[i];
  }
  Mat correlation = (t.transpose() * t) / static_cast<double>(n - 1);
  for (int i = 0; i < kNumFeatures; ++i) {
    // A constant feature has no variance to estimate; treat it as independent with unit variance
    // so its (floored-scale) deviations count in full.
    if (correlation(i, i) < 1e-12) correlation(i, i) = 1;
  }
  const Mat shrunk = (1 - kShrinkage) * correlation + kShrinkage * Mat::Identity();
  const Eigen::LDLT<Mat> ldlt(shrunk);
  if (ldlt.info() != Eigen::Success || !ldlt.isPositive()) {
    return Status::InvalidArgument("the training features' covariance could not be inverted");
  }
  const Mat precision = ldlt.solve(Mat::Identity());

  std::vector<double> distances(n);
  for (size_t r = 0; r < n; ++r) {
    const Vec z = t.row(static_cast<Eigen::Index>(r)).transpose();
    distances[r] = std::sqrt(std::max(0.0, z.dot(precision * z)));
  }

  OodReference& ood = model->ood;
  for (int i = 0; i < kNumFeatures; ++i) {
    ood.mean[i] = mean[i];
    ood.scale[i] = scale[i];
  }
  ood.inverse_covariance.assign(precision.data(), precision.data() + kNumFeatures * kNumFeatures);
  ood.threshold = Quantile(std::move(distances), quantile);
  ood.threshold_quantile = quantile;
  model->training_range = range;
  return Status::Ok();
}

}  // namespace fetal
