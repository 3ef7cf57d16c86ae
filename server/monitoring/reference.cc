#include "monitoring/reference.h"

namespace fetal {
namespace monitoring {

std::shared_ptr<const MonitoringReference> ReferenceOfBundle(const std::string& bundle) {
  auto reference = std::make_shared<MonitoringReference>();
  bool found = false;
  Status s = MonitoringReferenceFromBundle(reinterpret_cast<const uint8_t*>(bundle.data()),
                                           bundle.size(), reference.get(), &found);
  if (!s.ok() || !found) return nullptr;
  return reference;
}

}  // namespace monitoring
}  // namespace fetal
