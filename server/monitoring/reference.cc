#include "monitoring/reference.h"

namespace fetal {
namespace monitoring {

static_assert(storage::kReferenceBins == kMonitoringBins,
              "the aggregates keep one count per reference bin");

std::shared_ptr<const MonitoringReference> ReferenceOfBundle(const std::string& bundle) {
  auto reference = std::make_shared<MonitoringReference>();
  bool found = false;
  Status s = MonitoringReferenceFromBundle(reinterpret_cast<const uint8_t*>(bundle.data()),
                                           bundle.size(), reference.get(), &found);
  if (!s.ok() || !found) return nullptr;
  return reference;
}

void BinExam(const MonitoringReference* reference, const double* features,
             storage::ExamSignals* signals) {
  signals->feature_bins = storage::ExamSignals::NoFeatureBins();
  if (reference == nullptr) return;
  for (int i = 0; i < kNumFeatures; ++i) {
    const int bin = BinOf(reference->features[i], features[i]);
    if (bin < storage::kReferenceBins) signals->feature_bins[i] = static_cast<int8_t>(bin);
  }
}

}  // namespace monitoring
}  // namespace fetal
