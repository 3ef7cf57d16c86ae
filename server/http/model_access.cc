#include "http/model_access.h"

#include <httplib.h>

#include "http/responses.h"

namespace fetal {
namespace server {

bool ReloadModelVersion(const Services& svc, httplib::Response& res, int64_t version,
                        ModelVersion* out) {
  storage::StoreStatus s = svc.registry->Reload(version, out);
  if (s.code() == storage::StoreStatus::Code::kNotFound) {
    SendError(res, 404, "not_found", "no model version " + std::to_string(version));
    return false;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return false;
  }
  return true;
}

}  // namespace server
}  // namespace fetal
