// MonitoringReference: what monitoring compares a model's live exams against, from its
// training data: per feature, quantile bins with the training rows in each; the model's
// out-of-fold predicted class mix. A model whose bundle has no reference has available = false
// and monitoring reports no drift for it.
//
// Thread-safety: immutable after construction; BinOf is const.
#pragma once

#include <array>
#include <vector>

#include "fetal/model.h"
#include "fetal/schema.h"
#include "storage/store.h"

namespace fetal {
namespace monitoring {

struct FeatureBins {
  // Ascending inner cut points; bin b holds values in [edges[b-1], edges[b]) (the first bin is
  // open below, the last open above), so there are edges.size() + 1 <= kReferenceBins bins.
  std::vector<double> edges;
  std::vector<double> counts;  // training rows per bin, edges.size() + 1 of them
};

struct MonitoringReference {
  bool available = false;
  std::array<FeatureBins, kNumFeatures> features;
  // The model's out-of-fold predicted class mix on its training data (proportions): what the
  // live server class mix is compared with.
  std::array<double, kNumClasses> predicted_class_mix{};
};

// The reference a model's bundle carries; available = false for bundles without one.
MonitoringReference ReferenceOf(const Model& model);

// The bin of `value` for feature i: the number of edges <= value.
int BinOf(const FeatureBins& bins, double value);

// Fills signals->feature_bins from the reference (all -1 when it is not available).
void BinExam(const MonitoringReference& reference, const double* features,
             storage::ExamSignals* signals);

}  // namespace monitoring
}  // namespace fetal
