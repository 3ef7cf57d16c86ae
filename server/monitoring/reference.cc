#include "monitoring/reference.h"

#include <algorithm>

namespace fetal {
namespace monitoring {

MonitoringReference ReferenceOf(const Model&) {
  // Bundles do not carry a monitoring reference yet.
  return MonitoringReference();
}

int BinOf(const FeatureBins& bins, double value) {
  return static_cast<int>(std::upper_bound(bins.edges.begin(), bins.edges.end(), value) -
                          bins.edges.begin());
}

void BinExam(const MonitoringReference& reference, const double* features,
             storage::ExamSignals* signals) {
  signals->feature_bins = storage::ExamSignals::NoFeatureBins();
  if (!reference.available) return;
  for (int i = 0; i < kNumFeatures; ++i) {
    const int bin = BinOf(reference.features[i], features[i]);
    if (bin < storage::kReferenceBins) signals->feature_bins[i] = static_cast<int8_t>(bin);
  }
}

}  // namespace monitoring
}  // namespace fetal
