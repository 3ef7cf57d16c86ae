// The signals a staged rollout is stepped or halted on (docs/rollout.md "Automatic decisions"):
// the canary cohort's exams compared with the stable cohort's, with the statistics monitoring
// uses (monitoring/statistics.h).
//
// A cohort is told by the model version its exams were classified with in the browser
// (client_result.model_version): the canary cohort runs the candidate, the stable cohort the
// stable version. That is what each browser really ran, and the server stores it already.
//
// Thread-safety: TallyCohort reads the store and the registry (both thread-safe); the rest are
// pure functions.
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "model_registry.h"
#include "shadow/activation_gates.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// What one cohort's exams in a window add up to.
struct CohortTally {
  int64_t version = 0;
  int64_t exams = 0;
  int64_t disagreements = 0;             // client and server results differ
  int64_t ood = 0;                       // out of distribution under the version's OOD reference
  std::array<double, 3> class_counts{};  // the server's class
  // For the confidence-based accuracy estimate (monitoring::EstimatePerformance).
  double top_sum = 0, top_sq_sum = 0;
  std::array<double, 3> top_sum_by_predicted{}, probability_sum{};
};

// Tallies the exams of `version` received in [from_ms, to_ms), at most `max_exams` (the newest
// are left out beyond it). OOD is recomputed with the version's classifier: the exam row does not
// keep it.
storage::StoreStatus TallyCohort(storage::Store* store, ModelRegistry* registry, int64_t version,
                                 int64_t from_ms, int64_t to_ms, int64_t max_exams,
                                 CohortTally* out);

struct CohortVerdict {
  bool enough = false;      // both cohorts reached min_exams_per_cohort
  bool tripped = false;     // some signal tripped (only when enough)
  nlohmann::json evidence;  // every signal with its measured value, threshold and result
};

CohortVerdict CompareCohorts(const ActivationPolicy::Rollout& policy, const CohortTally& stable,
                             const CohortTally& canary);

}  // namespace server
}  // namespace fetal
