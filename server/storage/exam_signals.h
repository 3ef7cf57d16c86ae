// What monitoring counts of one exam beyond its classes (storage::ExamSignals), from the server's
// classification of it and the model's monitoring reference. One function for both places that
// need it: the exam route, when an exam is submitted, and the aggregates' rebuild
// (day_stats_rebuild.h), which re-classifies stored exams with their model version.
//
// Thread-safety: pure functions.
#pragma once

#include "fetal/classifier.h"
#include "fetal/monitoring_reference.h"
#include "storage/store.h"

namespace fetal {
namespace storage {

// Precondition: server.classified. `features` are the exam's kNumFeatures values as stored;
// `reference` may be null (no bins then).
ExamSignals SignalsOf(const Classification& server, const MonitoringReference* reference,
                      const double* features);

// Fills signals->feature_bins from the reference (all -1 without one): each feature rounded to
// float32, as the model and the trainer read it, then binned.
void BinFeatures(const MonitoringReference* reference, const double* features,
                 ExamSignals* signals);

}  // namespace storage
}  // namespace fetal
