#include "rollout/cohort_signals.h"

#include <algorithm>

#include "fetal/classifier.h"
#include "monitoring/statistics.h"
#include "text/time_text.h"

namespace fetal {
namespace server {

using nlohmann::json;
using storage::StoreStatus;

StoreStatus TallyCohort(storage::Store* store, ModelRegistry* registry, int64_t version,
                        int64_t from_ms, int64_t to_ms, int64_t max_exams, CohortTally* out) {
  CohortTally t;
  t.version = version;
  ModelVersion model;
  StoreStatus s = registry->Get(version, &model);
  if (!s.ok()) return s;
  storage::ExamFilter filter;
  filter.from_ms = from_ms;
  filter.to_ms = to_ms;
  filter.model_version = version;
  std::string cursor;
  ClassifyOptions options;
  options.explain = false;
  do {
    storage::ExamPage page;
    s = store->ListExams(filter, cursor, 1000, &page);
    if (!s.ok()) return s;
    for (const storage::ExamRecord& exam : page.exams) {
      if (t.exams >= max_exams) break;
      const storage::ExamInput& in = exam.input;
      ++t.exams;
      t.disagreements += in.agreement ? 0 : 1;
      t.class_counts[in.server_class] += 1;
      double top = 0;
      for (int k = 0; k < 3; ++k) {
        top = std::max(top, in.server_probabilities[k]);
        t.probability_sum[k] += in.server_probabilities[k];
      }
      t.top_sum += top;
      t.top_sq_sum += top * top;
      t.top_sum_by_predicted[in.server_class] += top;
      float f[kNumFeatures];
      for (int i = 0; i < kNumFeatures; ++i) f[i] = static_cast<float>(in.features[i]);
      Classification c;
      model.classifier->Classify(f, options, &c);
      t.ood += c.classified && c.has_ood_reference && c.ood.out_of_distribution ? 1 : 0;
    }
    cursor = page.next_cursor;
  } while (!cursor.empty() && t.exams < max_exams);
  *out = t;
  return StoreStatus::Ok();
}

CohortVerdict CompareCohorts(const ActivationPolicy::Rollout& policy, const CohortTally& stable,
                             const CohortTally& canary) {
  CohortVerdict v;
  auto rate = [](int64_t part, int64_t whole) {
    return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  };
  auto estimate = [](const CohortTally& t) {
    return monitoring::EstimatePerformance(t.exams, t.top_sum, t.top_sq_sum, t.top_sum_by_predicted,
                                           t.probability_sum)
        .accuracy;
  };
  v.enough =
      stable.exams >= policy.min_exams_per_cohort && canary.exams >= policy.min_exams_per_cohort;
  json signals = json::array();
  auto signal = [&](const char* name, double measured, double threshold, bool trips) {
    const bool tripped = v.enough && trips;
    v.tripped = v.tripped || tripped;
    signals.push_back(json{{"signal", name},
                           {"measured", measured},
                           {"threshold", threshold},
                           {"tripped", tripped}});
  };
  signal("disagreement_increase",
         rate(canary.disagreements, canary.exams) - rate(stable.disagreements, stable.exams),
         policy.max_disagreement_increase,
         rate(canary.disagreements, canary.exams) - rate(stable.disagreements, stable.exams) >
             policy.max_disagreement_increase);
  signal("ood_rate_increase", rate(canary.ood, canary.exams) - rate(stable.ood, stable.exams),
         policy.max_ood_rate_increase,
         rate(canary.ood, canary.exams) - rate(stable.ood, stable.exams) >
             policy.max_ood_rate_increase);
  // The canary's class mix against the stable cohort's proportions, with half an exam added to
  // each stable class: a class the stable cohort never showed would otherwise have proportion 0,
  // be left out of the test, and a canary turning Pathological would pass unseen.
  std::vector<double> expected(3), observed(canary.class_counts.begin(), canary.class_counts.end());
  for (int k = 0; k < 3; ++k) {
    expected[k] = (stable.class_counts[k] + 0.5) / (static_cast<double>(stable.exams) + 1.5);
  }
  const monitoring::ChiSquareResult mix = monitoring::ChiSquareGoodnessOfFit(observed, expected);
  signal("class_mix_p_value", mix.p_value, policy.min_class_mix_p_value,
         mix.p_value < policy.min_class_mix_p_value);
  const double drop = estimate(stable) - estimate(canary);
  signal("estimated_accuracy_drop", drop, policy.max_estimated_accuracy_drop,
         drop > policy.max_estimated_accuracy_drop);
  auto cohort = [&](const char* name, const CohortTally& t) {
    return json{{"cohort", name},
                {"version", t.version},
                {"exams", t.exams},
                {"class_counts", t.class_counts},
                {"disagreements", t.disagreements},
                {"disagreement_rate", rate(t.disagreements, t.exams)},
                {"ood", t.ood},
                {"ood_rate", rate(t.ood, t.exams)},
                {"estimated_accuracy", t.exams > 0 ? json(estimate(t)) : json(nullptr)}};
  };
  v.evidence = json{{"enough_exams", v.enough},
                    {"min_exams_per_cohort", policy.min_exams_per_cohort},
                    {"cohorts", {cohort("stable", stable), cohort("canary", canary)}},
                    {"signals", std::move(signals)}};
  return v;
}

CohortWindows WindowsOf(const storage::RolloutRecord& rollout, int64_t window_seconds,
                        int64_t to_ms) {
  return CohortWindows{rollout.started_ms - window_seconds * 1000, rollout.step_started_ms, to_ms};
}

json WindowsJson(const CohortWindows& w) {
  return json{{"stable_from", text::FormatTime(w.stable_from_ms)},
              {"canary_from", text::FormatTime(w.canary_from_ms)},
              {"to", text::FormatTime(w.to_ms)}};
}

StoreStatus EvaluateCohorts(storage::Store* store, ModelRegistry* registry,
                            const ActivationPolicy::Rollout& policy,
                            const ReleaseManifest& manifest, const CohortWindows& windows,
                            CohortVerdict* out) {
  CohortTally stable, canary;
  StoreStatus s = TallyCohort(store, registry, manifest.stable.version, windows.stable_from_ms,
                              windows.to_ms, kMaxExamsPerCohort, &stable);
  if (s.ok()) {
    s = TallyCohort(store, registry, manifest.candidate->version, windows.canary_from_ms,
                    windows.to_ms, kMaxExamsPerCohort, &canary);
  }
  if (s.ok()) *out = CompareCohorts(policy, stable, canary);
  return s;
}

std::optional<storage::RolloutAction> DecisionOn(const CohortVerdict& verdict, bool last_step) {
  if (!verdict.enough) return std::nullopt;
  if (verdict.tripped) return storage::RolloutAction::kHalt;
  return last_step ? storage::RolloutAction::kPromote : storage::RolloutAction::kStep;
}

}  // namespace server
}  // namespace fetal
