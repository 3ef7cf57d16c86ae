// The signals a staged rollout is stepped or halted on (docs/rollout.md "Automatic decisions"):
// the canary cohort's exams compared with the stable cohort's, with the statistics monitoring
// uses (monitoring/statistics.h).
//
// A cohort is told by the model version its exams were classified with in the browser
// (client_result.model_version): the canary cohort runs the candidate, the stable cohort the
// stable version. That is what each browser really ran, and the server stores it already.
//
// The rollout monitor decides with EvaluateCohorts and GET /monitoring/rollout shows what it
// returns, so what an admin sees is what the monitor judges.
//
// Thread-safety: TallyCohort and EvaluateCohorts read the store and the registry (both
// thread-safe); the rest are pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "fetal/release_manifest.h"
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
  bool enough = false;   // both cohorts reached min_exams_per_cohort
  bool tripped = false;  // some signal tripped (only when enough)
  // {"enough_exams", "min_exams_per_cohort", "cohorts": [stable, canary] each with its version,
  // exams, class counts and rates, "signals": every signal with its measured value, threshold
  // and whether it tripped}.
  nlohmann::json evidence;
};

CohortVerdict CompareCohorts(const ActivationPolicy::Rollout& policy, const CohortTally& stable,
                             const CohortTally& canary);

// Exams tallied per cohort and window at most: enough for every signal's test, bounded work.
inline constexpr int64_t kMaxExamsPerCohort = 20000;

// The exams a rollout's window compares, by time received (ms since the epoch): the canary's
// from the start of the current step, the stable cohort's from one window before the rollout
// started (so that at a 100 % step, with no browser left on stable, there is still a
// reference), both until `to_ms`.
struct CohortWindows {
  int64_t stable_from_ms = 0;
  int64_t canary_from_ms = 0;
  int64_t to_ms = 0;
};
CohortWindows WindowsOf(const storage::RolloutRecord& rollout, int64_t window_seconds,
                        int64_t to_ms);

// {"stable_from", "canary_from", "to"} as times (text/time_text.h).
nlohmann::json WindowsJson(const CohortWindows& windows);

// Tallies both cohorts of the rollout manifest `manifest` (stable and candidate versions) over
// `windows` and compares them. Precondition: manifest.candidate is set (a rollout manifest).
storage::StoreStatus EvaluateCohorts(storage::Store* store, ModelRegistry* registry,
                                     const ActivationPolicy::Rollout& policy,
                                     const ReleaseManifest& manifest, const CohortWindows& windows,
                                     CohortVerdict* out);

// What the monitor decides once a window has passed: halt on any trip, else step, or promote
// when the current step is the last. Nothing while a cohort has too few exams.
std::optional<storage::RolloutAction> DecisionOn(const CohortVerdict& verdict, bool last_step);

}  // namespace server
}  // namespace fetal
