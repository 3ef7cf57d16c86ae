#include "shadow/shadow_report.h"

#include "monitoring/paired_test.h"
#include "shadow/shadow_evaluator.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;

std::string Name(int k) { return std::string(kClassNames[k]); }

json Interval(const std::array<double, 2>& ci) { return json::array({ci[0], ci[1]}); }

json Mix(const std::array<int64_t, kNumClasses>& counts, int64_t n) {
  json out = json::object();
  for (int k = 0; k < kNumClasses; ++k) {
    out[Name(k)] = {{"count", counts[k]},
                    {"share", n ? static_cast<double>(counts[k]) / n : 0.0},
                    {"share_ci", Interval(monitoring::WilsonInterval(static_cast<double>(counts[k]),
                                                                     static_cast<double>(n)))}};
  }
  return out;
}

json PerformanceJson(const monitoring::Performance& p) {
  json recall = json::object();
  for (int k = 0; k < kNumClasses; ++k) {
    recall[Name(k)] = p.has_support[k] ? json(p.recall[k]) : json(nullptr);
  }
  return json{{"accuracy", p.accuracy},
              {"accuracy_ci", Interval(p.accuracy_ci)},
              {"macro_f1", p.macro_f1},
              {"recall", recall}};
}

}  // namespace

void ShadowTally::Add(int active_class, int shadow_class, const std::optional<int>& final_reading) {
  ++exams;
  agree += active_class == shadow_class;
  ++active_mix[active_class];
  ++shadow_mix[shadow_class];
  ++disagreement[active_class][shadow_class];
  if (!final_reading) return;
  const int truth = *final_reading;
  ++labelled;
  ++active_confusion[truth][active_class];
  ++shadow_confusion[truth][shadow_class];
  const bool active_right = active_class == truth, shadow_right = shadow_class == truth;
  only_active_right += active_right && !shadow_right;
  only_shadow_right += shadow_right && !active_right;
}

storage::StoreStatus BuildShadowTally(storage::Store* store, const ModelVersion& active,
                                      int64_t shadow_version, int64_t from_ms, int64_t to_ms,
                                      ShadowTally* out) {
  ShadowTally tally;
  int64_t after = 0;
  for (;;) {
    std::vector<storage::ShadowPair> page;
    storage::StoreStatus s =
        store->ListShadowPairs(shadow_version, from_ms, to_ms, after, 1000, &page);
    if (!s.ok()) return s;
    if (page.empty()) break;
    for (const storage::ShadowPair& p : page) {
      int active_class = p.exam.input.server_class;
      if (p.exam.input.model_version != active.version) {
        storage::ShadowResult r;
        if (!ShadowClassify(*active.classifier, active.version, p.exam.id, p.exam.input.features,
                            &r)) {
          continue;  // the active model's validator refuses it: no pair to compare
        }
        active_class = r.shadow_class;
      }
      const std::optional<int> reading =
          p.final_reading && *p.final_reading >= 0 && *p.final_reading < kNumClasses
              ? p.final_reading
              : std::nullopt;
      tally.Add(active_class, p.shadow.shadow_class, reading);
    }
    after = page.back().exam.id;
    if (tally.exams > kMaxReportExams) {
      return storage::StoreStatus::InvalidArgument(
          "the window holds more than 500000 shadow results; give a narrower from/to", "from");
    }
  }
  *out = tally;
  return storage::StoreStatus::Ok();
}

json ShadowReportJson(const ShadowTally& t) {
  json disagreement = json::object();
  for (int a = 0; a < kNumClasses; ++a) {
    json row = json::object();
    for (int s = 0; s < kNumClasses; ++s) row[Name(s)] = t.disagreement[a][s];
    disagreement[Name(a)] = row;
  }
  json out = {{"exams", t.exams},
              {"agreement",
               {{"count", t.agree},
                {"rate", t.exams ? static_cast<double>(t.agree) / t.exams : 0.0},
                {"rate_ci", Interval(monitoring::WilsonInterval(static_cast<double>(t.agree),
                                                                static_cast<double>(t.exams)))}}},
              {"class_mix",
               {{"active", Mix(t.active_mix, t.exams)}, {"shadow", Mix(t.shadow_mix, t.exams)}}},
              {"disagreement", disagreement},
              {"labelled_exams", t.labelled}};
  if (t.labelled == 0) {
    out["performance"] = nullptr;
    return out;
  }
  const monitoring::McNemarResult mc =
      monitoring::McNemar(t.only_active_right, t.only_shadow_right);
  const monitoring::PairedDifference d =
      monitoring::AccuracyDifference(t.only_active_right, t.only_shadow_right, t.labelled);
  out["performance"] = {{"active", PerformanceJson(monitoring::PerformanceOf(t.active_confusion))},
                        {"shadow", PerformanceJson(monitoring::PerformanceOf(t.shadow_confusion))},
                        {"accuracy_difference", d.difference},
                        {"accuracy_difference_ci", Interval(d.ci)},
                        {"mcnemar",
                         {{"only_active_right", t.only_active_right},
                          {"only_shadow_right", t.only_shadow_right},
                          {"exact_p", mc.exact_p},
                          {"mid_p", mc.mid_p}}}};
  return out;
}

}  // namespace server
}  // namespace fetal
