// GET /releases' body: every stored manifest, every started rollout, and each stored set as an
// operator reads it (what it rolls out, its state, and every decision taken on it with who took
// it, when and on what evidence, from the audit chain). docs/api.md "GET /releases".
//
// Thread-safety: reads the store, which is thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "storage/store.h"

namespace fetal {
namespace server {

// Fills *out. Corruption when a stored rollout manifest no longer parses.
storage::StoreStatus ListReleasesJson(storage::Store* store, nlohmann::json* out);

}  // namespace server
}  // namespace fetal
