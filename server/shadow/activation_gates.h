// Activation gates: what a version must show in shadow before it may become the active model,
// read from a written policy (docs/model-changes.md "Activation gates").
//
// The policy is DATA_DIR/activation-policy.json, read at every activation and rollout start (an
// edit takes effect at the next one, no restart). When the file is absent the built-in defaults
// below apply and refuse like a written policy: a hospital that never wrote one still has gates.
// Switching them off takes a written file saying so ({"enforce": false}). A file that exists but
// does not parse, or holds an unknown field or a value out of range, refuses every activation
// until fixed: a typo must not switch safety checks off.
//
// Thread-safety: pure functions over their arguments (LoadActivationPolicy reads a file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shadow/shadow_report.h"

namespace fetal {
namespace server {

struct ActivationPolicy {
  bool enforce = true;       // false only when a written file says so
  std::string source;        // the file's path, or "built-in defaults (no <path>)"
  int64_t window_days = 90;  // shadow exams received in the last window_days days count
  int64_t min_shadow_exams = 200;
  double min_agreement = 0.90;      // share of exams where shadow and active agree
  int64_t min_labelled_exams = 50;  // exams with an outcome, for the recall and F1 gates
  // Pathological recall of the shadow on labelled exams may be at most this much below the
  // active model's; likewise macro-F1.
  double max_pathological_recall_drop = 0.05;
  double max_macro_f1_drop = 0.03;
  // A staged rollout (docs/rollout.md), under "rollout" in the file: after each window of
  // window_seconds from the start of a step, with at least min_exams_per_cohort exams in each
  // cohort, the canary cohort is compared with the stable one; any trip halts the rollout,
  // otherwise it steps (promoted after its last step).
  struct Rollout {
    int64_t window_seconds = 86400;
    int64_t min_exams_per_cohort = 100;
    double max_disagreement_increase = 0.02;    // client/server disagreement rate, canary - stable
    double max_ood_rate_increase = 0.05;        // OOD rate, canary - stable
    double min_class_mix_p_value = 0.001;       // chi-square of the canary's mix vs the stable's
    double max_estimated_accuracy_drop = 0.05;  // confidence-based estimate, stable - canary
  } rollout;
};

// Reads `path`: absent -> the defaults (enforced); present -> its fields over the defaults. False
// with *error naming the field and the expected form.
bool LoadActivationPolicy(const std::string& path, ActivationPolicy* out, std::string* error);

// The policy file's fields and their defaults, as JSON (answers and the audit event carry it).
nlohmann::json PolicyJson(const ActivationPolicy& policy);

struct Gate {
  std::string name;
  nlohmann::json threshold;  // the policy's value
  nlohmann::json measured;   // null when it could not be measured
  bool passed = false;
  std::string detail;               // how it was measured, for a person
  nlohmann::json active = nullptr;  // the active model's value, for the comparative gates
  nlohmann::json shadow = nullptr;  // the candidate's value
};

// Every gate, in a fixed order: signature_and_self_test (the caller checked it: `loaded`),
// min_shadow_exams, min_agreement, min_labelled_exams, pathological_recall_drop,
// macro_f1_drop. Without a champion (`has_champion` false: the first activation, an active
// version that does not verify, or the candidate is the active version) the shadow gates pass
// with kNoChampion as their detail.
inline constexpr char kNoChampion[] =
    "no champion to compare with (no version is active, the active version's bundle does not "
    "verify, or the candidate is the active version itself): this gate does not apply";
std::vector<Gate> EvaluateGates(const ActivationPolicy& policy, bool loaded, bool has_champion,
                                const ShadowTally& tally);

bool AllPassed(const std::vector<Gate>& gates);
// With `with_detail` false (the audit event) each gate leaves out its sentence.
nlohmann::json GatesJson(const std::vector<Gate>& gates, bool with_detail = true);

}  // namespace server
}  // namespace fetal
