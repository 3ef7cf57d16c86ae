// Out-of-distribution check: is this exam unlike the training data?
//
// Features are transformed (log1p for rates and counts, see FeatureSpec::log1p_for_ood),
// standardized with the training mean and scale, and the Mahalanobis distance to the training
// mean is computed with the inverse covariance (Eigen). Above the bundle's threshold (a high
// quantile of the training distances) the exam is flagged. Separately, features outside the
// training min/max are listed.
#pragma once

#include <vector>

#include "fetal/model.h"
#include "fetal/status.h"

namespace fetal {

struct OodResult {
  double distance = 0;   // Mahalanobis distance
  double threshold = 0;  // the model's threshold
  bool out_of_distribution = false;
  std::vector<int> out_of_range;  // feature indices outside the training min/max
};

// Precondition: `model.ood` was filled by FitOodReference (inverse_covariance has 21*21 values).
OodResult CheckOod(const Model& model, const float* features);

// Fits the reference on n training exams (row-major) and fills model->ood and
// model->training_range. `quantile` in (0,1) sets the threshold.
Status FitOodReference(const float* features, size_t n, double quantile, Model* model);

}  // namespace fetal
