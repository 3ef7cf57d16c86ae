// The server's side of a model's monitoring reference (fetal/monitoring_reference.h): reading
// it from a stored bundle, and binning an exam's features into its bins.
//
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string>

#include "fetal/monitoring_reference.h"
#include "storage/store.h"

namespace fetal {
namespace monitoring {

// The reference in the bundle's "monitoring" section; null for a bundle without one (or with a
// section this server cannot read: monitoring then says the reference is not available).
std::shared_ptr<const MonitoringReference> ReferenceOfBundle(const std::string& bundle);

// Fills signals->feature_bins from the reference (all -1 without one).
void BinExam(const MonitoringReference* reference, const double* features,
             storage::ExamSignals* signals);

}  // namespace monitoring
}  // namespace fetal
