// The shadow report: a shadow version against the active version on the same stored exams
// (docs/model-changes.md "The shadow report"). Tally counts the pairs; ShadowReportJson turns
// the counts into the figures GET /models/{v}/shadow/report answers and the activation gates
// read.
//
// Thread-safety: ShadowTally is a plain value; BuildShadowTally may run concurrently with
// anything (it reads the store and the registry).
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "model_registry.h"
#include "monitoring/statistics.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// Counts over the exams a shadow version evaluated, each paired with the active version's class.
struct ShadowTally {
  int64_t exams = 0;
  int64_t agree = 0;  // same class from both
  std::array<int64_t, kNumClasses> active_mix{};
  std::array<int64_t, kNumClasses> shadow_mix{};
  // [active class][shadow class]; the diagonal is agreement.
  std::array<std::array<int64_t, kNumClasses>, kNumClasses> disagreement{};
  // Exams with an outcome: [final reading][predicted class] of each model, and the paired
  // right/wrong counts McNemar's test reads.
  int64_t labelled = 0;
  monitoring::Confusion active_confusion{};
  monitoring::Confusion shadow_confusion{};
  int64_t only_active_right = 0;
  int64_t only_shadow_right = 0;

  // Counts one exam. Classes are 0..kNumClasses-1.
  void Add(int active_class, int shadow_class, const std::optional<int>& final_reading);
};

// Exams received in [from_ms, to_ms) that `shadow_version` evaluated, each with the active
// version's class: the stored server class when the exam was submitted with the active version
// (the server classified it with exactly that model), else the active classifier's class now.
// InvalidArgument ("from") when the window holds more than kMaxReportExams results.
inline constexpr int64_t kMaxReportExams = 500000;
storage::StoreStatus BuildShadowTally(storage::Store* store, const ModelVersion& active,
                                      int64_t shadow_version, int64_t from_ms, int64_t to_ms,
                                      ShadowTally* out);

// The report's figures (docs/api.md "GET /models/{v}/shadow/report").
nlohmann::json ShadowReportJson(const ShadowTally& tally);

}  // namespace server
}  // namespace fetal
