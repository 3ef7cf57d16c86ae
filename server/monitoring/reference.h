// The server's side of a model's monitoring reference (fetal/monitoring_reference.h): reading
// it from a stored bundle (storage/exam_signals.h bins an exam's features into it).
//
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string>

#include "fetal/monitoring_reference.h"

namespace fetal {
namespace monitoring {

// The reference in the bundle's "monitoring" section; null for a bundle without one (or with a
// section this server cannot read: monitoring then says the reference is not available).
std::shared_ptr<const MonitoringReference> ReferenceOfBundle(const std::string& bundle);

}  // namespace monitoring
}  // namespace fetal
