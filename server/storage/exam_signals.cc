#include "storage/exam_signals.h"

#include <cmath>

namespace fetal {
namespace storage {

static_assert(kReferenceBins == kMonitoringBins, "the aggregates keep one count per reference bin");

ExamSignals SignalsOf(const Classification& server, const MonitoringReference* reference,
                      const double* features) {
  ExamSignals signals;
  signals.ood_checked = server.has_ood_reference && std::isfinite(server.ood.distance);
  signals.ood_distance = signals.ood_checked ? server.ood.distance : 0;
  signals.out_of_distribution = server.ood.out_of_distribution;
  signals.out_of_range = !server.ood.out_of_range.empty();
  signals.has_warnings = server.warning_count() > 0;
  signals.figo_disagrees = FigoClassIndex(server.figo.figo_class) != server.predicted_class;
  BinFeatures(reference, features, &signals);
  return signals;
}

void BinFeatures(const MonitoringReference* reference, const double* features,
                 ExamSignals* signals) {
  signals->feature_bins = ExamSignals::NoFeatureBins();
  if (reference == nullptr) return;
  for (int i = 0; i < kNumFeatures; ++i) {
    // The trainer fitted the bins on the features as the model reads them, float32, so the edges
    // are float values: a double just below a float edge (0.003 < 0.003f) would land one bin
    // lower than the same value did in training.
    const int bin = BinOf(reference->features[i], static_cast<float>(features[i]));
    if (bin < kReferenceBins) signals->feature_bins[i] = static_cast<int8_t>(bin);
  }
}

}  // namespace storage
}  // namespace fetal
