#include "shadow/activation_gates.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "monitoring/statistics.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;

constexpr int kPathological = 2;  // class index (fetal/schema.h kClassNames)

bool ReadInt(const json& j, const char* key, int64_t min, int64_t max, int64_t* out,
             std::string* error) {
  if (!j.contains(key)) return true;
  const json& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    *error = std::string(key) + " must be an integer from " + std::to_string(min) + " to " +
             std::to_string(max);
    return false;
  }
  *out = v.get<int64_t>();
  return true;
}

bool ReadFraction(const json& j, const char* key, double* out, std::string* error) {
  if (!j.contains(key)) return true;
  const json& v = j[key];
  if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1)) {
    *error = std::string(key) + " must be a number from 0 to 1";
    return false;
  }
  *out = v.get<double>();
  return true;
}

bool ReadRolloutPolicy(const json& j, ActivationPolicy::Rollout* r, std::string* error) {
  static const char* const kKnown[] = {"window_seconds",
                                       "min_exams_per_cohort",
                                       "max_disagreement_increase",
                                       "max_ood_rate_increase",
                                       "min_class_mix_p_value",
                                       "max_estimated_accuracy_drop"};
  if (!j.is_object()) {
    *error = "must be an object";
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) {
      *error = "unknown field \"" + it.key() + "\"";
      return false;
    }
  }
  return ReadInt(j, "window_seconds", 1, 30 * 86400, &r->window_seconds, error) &&
         ReadInt(j, "min_exams_per_cohort", 1, 100000000, &r->min_exams_per_cohort, error) &&
         ReadFraction(j, "max_disagreement_increase", &r->max_disagreement_increase, error) &&
         ReadFraction(j, "max_ood_rate_increase", &r->max_ood_rate_increase, error) &&
         ReadFraction(j, "min_class_mix_p_value", &r->min_class_mix_p_value, error) &&
         ReadFraction(j, "max_estimated_accuracy_drop", &r->max_estimated_accuracy_drop, error);
}

}  // namespace

bool LoadActivationPolicy(const std::string& path, ActivationPolicy* out, std::string* error) {
  ActivationPolicy p;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    p.source = "built-in defaults (no " + path + ")";
    *out = p;
    return true;
  }
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  const std::string where = path + ": ";
  if (j.is_discarded() || !j.is_object()) {
    *error = where + "must be a JSON object (docs/model-changes.md \"Activation gates\")";
    return false;
  }
  static const char* const kKnown[] = {"enforce",
                                       "window_days",
                                       "min_shadow_exams",
                                       "min_agreement",
                                       "min_labelled_exams",
                                       "max_pathological_recall_drop",
                                       "max_macro_f1_drop",
                                       "rollout"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) {
      *error = where + "unknown field \"" + it.key() + "\"";
      return false;
    }
  }
  p.source = path;
  if (j.contains("enforce")) {
    if (!j["enforce"].is_boolean()) {
      *error = where + "enforce must be true or false";
      return false;
    }
    p.enforce = j["enforce"].get<bool>();
  }
  std::string e;
  if (!ReadInt(j, "window_days", 1, 3650, &p.window_days, &e) ||
      !ReadInt(j, "min_shadow_exams", 0, 100000000, &p.min_shadow_exams, &e) ||
      !ReadFraction(j, "min_agreement", &p.min_agreement, &e) ||
      !ReadInt(j, "min_labelled_exams", 0, 100000000, &p.min_labelled_exams, &e) ||
      !ReadFraction(j, "max_pathological_recall_drop", &p.max_pathological_recall_drop, &e) ||
      !ReadFraction(j, "max_macro_f1_drop", &p.max_macro_f1_drop, &e)) {
    *error = where + e;
    return false;
  }
  if (j.contains("rollout") && !ReadRolloutPolicy(j["rollout"], &p.rollout, &e)) {
    *error = where + "rollout." + e;
    return false;
  }
  *out = p;
  return true;
}

json PolicyJson(const ActivationPolicy& p) {
  return json{{"source", p.source},
              {"enforce", p.enforce},
              {"window_days", p.window_days},
              {"min_shadow_exams", p.min_shadow_exams},
              {"min_agreement", p.min_agreement},
              {"min_labelled_exams", p.min_labelled_exams},
              {"max_pathological_recall_drop", p.max_pathological_recall_drop},
              {"max_macro_f1_drop", p.max_macro_f1_drop},
              {"rollout",
               {{"window_seconds", p.rollout.window_seconds},
                {"min_exams_per_cohort", p.rollout.min_exams_per_cohort},
                {"max_disagreement_increase", p.rollout.max_disagreement_increase},
                {"max_ood_rate_increase", p.rollout.max_ood_rate_increase},
                {"min_class_mix_p_value", p.rollout.min_class_mix_p_value},
                {"max_estimated_accuracy_drop", p.rollout.max_estimated_accuracy_drop}}}};
}

std::vector<Gate> EvaluateGates(const ActivationPolicy& p, bool loaded, bool has_champion,
                                const ShadowTally& t) {
  std::vector<Gate> gates;
  gates.push_back(Gate{"signature_and_self_test", true, loaded, loaded,
                       "the stored bundle verifies against the model public key, loads and "
                       "classifies the built-in exams"});
  // min_shadow_exams
  Gate g{"min_shadow_exams", p.min_shadow_exams, t.exams, t.exams >= p.min_shadow_exams,
         "exams received in the last " + std::to_string(p.window_days) +
             " days that the candidate evaluated in shadow"};
  gates.push_back(g);
  // min_agreement
  const bool any = t.exams > 0;
  g = Gate{"min_agreement", p.min_agreement,
           any ? json(static_cast<double>(t.agree) / t.exams) : json(nullptr),
           any && static_cast<double>(t.agree) / t.exams >= p.min_agreement,
           "share of those exams the candidate and the active model put in the same class"};
  gates.push_back(g);
  // min_labelled_exams
  g = Gate{"min_labelled_exams", p.min_labelled_exams, t.labelled,
           t.labelled >= p.min_labelled_exams,
           "of those exams, the ones with an outcome (the clinician's final reading)"};
  gates.push_back(g);
  // pathological_recall_drop: active recall - candidate recall on labelled Pathological exams.
  const monitoring::Performance active = monitoring::PerformanceOf(t.active_confusion);
  const monitoring::Performance shadow = monitoring::PerformanceOf(t.shadow_confusion);
  g = Gate{"pathological_recall_drop", p.max_pathological_recall_drop, nullptr, false,
           "Pathological recall of the active model minus the candidate's, on the labelled "
           "exams; a candidate may be at most the threshold below"};
  if (active.has_support[kPathological]) {
    const double drop = active.recall[kPathological] - shadow.recall[kPathological];
    g.measured = drop;
    g.active = active.recall[kPathological];
    g.shadow = shadow.recall[kPathological];
    // A tolerance for the subtraction's rounding: a drop of exactly the margin passes.
    g.passed = drop <= p.max_pathological_recall_drop + 1e-12;
  } else {
    g.detail += " (no labelled Pathological exam yet: cannot be measured)";
  }
  gates.push_back(g);
  // macro_f1_drop
  g = Gate{"macro_f1_drop", p.max_macro_f1_drop, nullptr, false,
           "macro-F1 of the active model minus the candidate's, on the labelled exams"};
  if (t.labelled > 0) {
    const double drop = active.macro_f1 - shadow.macro_f1;
    g.measured = drop;
    g.active = active.macro_f1;
    g.shadow = shadow.macro_f1;
    g.passed = drop <= p.max_macro_f1_drop + 1e-12;
  } else {
    g.detail += " (no labelled exam yet: cannot be measured)";
  }
  gates.push_back(g);
  // Without a champion (the first activation: no version is active) there is nothing to compare
  // with and no model the shadow ran beside: the shadow gates do not apply, and say so.
  if (!has_champion) {
    for (size_t i = 1; i < gates.size(); ++i) {
      gates[i].passed = true;
      gates[i].detail = kNoChampion;
    }
  }
  return gates;
}

bool AllPassed(const std::vector<Gate>& gates) {
  for (const Gate& g : gates) {
    if (!g.passed) return false;
  }
  return true;
}

json GatesJson(const std::vector<Gate>& gates, bool with_detail) {
  json out = json::array();
  for (const Gate& g : gates) {
    json j = {{"name", g.name},
              {"threshold", g.threshold},
              {"measured", g.measured},
              {"passed", g.passed}};
    if (with_detail) j["detail"] = g.detail;
    if (!g.active.is_null()) j["active"] = g.active;
    if (!g.shadow.is_null()) j["shadow"] = g.shadow;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace server
}  // namespace fetal
