// A registry version named by a request, as the routes that act on it (activate, shadow,
// replay) need it: read from the database again (never the cache) and verified, so nothing is
// done with a version whose stored bytes no longer match their hash or signature.
//
// Thread-safety: as the registry it reads.
#pragma once

#include <cstdint>

#include "http/router.h"

namespace fetal {
namespace server {

// Reloads `version` into *out. Otherwise answers 404 (no such version), 500 storage_corrupt
// (the bytes fail a check) or the store's error; false when an answer was written.
bool ReloadModelVersion(const Services& svc, httplib::Response& res, int64_t version,
                        ModelVersion* out);

}  // namespace server
}  // namespace fetal
