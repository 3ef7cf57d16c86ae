#include "monitoring/report.h"

#include <algorithm>
#include <map>

#include "fetal/schema.h"
#include "monitoring/statistics.h"
#include "text/time_text.h"

namespace fetal {
namespace monitoring {
namespace {

using nlohmann::json;

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

const char* Verdict(int level) { return level >= 2 ? "alert" : level == 1 ? "warn" : "ok"; }

// Drift of one window's exams of the reference version; null without a reference.
json Drift(const ReportRequest& request, const storage::DayCounts& of_reference) {
  if (!request.reference) return nullptr;
  const MonitoringReference& ref = *request.reference;
  const Thresholds& t = request.thresholds;
  const bool enough = of_reference.exams >= t.min_drift_exams;
  int worst = 0;
  json features = json::array();
  for (int i = 0; i < kNumFeatures; ++i) {
    const ReferenceBins& bins = ref.features[i];
    std::vector<double> expected = bins.counts;
    std::vector<double> actual(bins.counts.size(), 0);
    for (size_t b = 0; b < actual.size() && b < storage::kReferenceBins; ++b) {
      actual[b] = static_cast<double>(of_reference.feature_bins[i][b]);
    }
    MergeSparseBins(t.min_expected_per_bin, &expected, &actual);
    const double psi = Psi(expected, actual);
    const double js = JensenShannon(expected, actual);
    const double p = ChiSquareGoodnessOfFit(actual, expected).p_value;
    int level = (psi >= t.psi_alert || js >= t.js_alert) && p < t.feature_p_alert ? 2
                : psi >= t.psi_warn && p < t.feature_p_warn                       ? 1
                                                                                  : 0;
    if (!enough) level = 0;
    worst = std::max(worst, level);
    features.push_back({{"key", std::string(FeatureSchema()[i].key)},
                        {"psi", psi},
                        {"js", js},
                        {"p_value", p},
                        {"verdict", Verdict(level)}});
  }
  std::vector<double> observed(of_reference.server_class.begin(), of_reference.server_class.end());
  std::vector<double> expected(ref.predicted_class_mix.begin(), ref.predicted_class_mix.end());
  const ChiSquareResult chi = ChiSquareGoodnessOfFit(observed, expected);
  const int prediction_level = enough && chi.p_value < t.chi2_p_alert ? 2 : 0;
  worst = std::max(worst, prediction_level);
  return {{"exams", of_reference.exams},
          {"enough_data", enough},
          {"features", features},
          {"prediction",
           {{"chi2", chi.chi2},
            {"degrees_of_freedom", chi.degrees_of_freedom},
            {"p_value", chi.p_value},
            {"verdict", Verdict(prediction_level)}}},
          {"verdict", Verdict(worst)}};
}

json Window(const ReportRequest& request, int64_t start, int64_t end,
            const std::vector<const storage::DayStats*>& rows) {
  storage::DayCounts all, of_reference;
  std::map<int64_t, int64_t> by_version;
  std::map<std::string, int64_t> by_build;
  for (const storage::DayStats* r : rows) {
    all.Add(r->counts);
    if (r->model_version == request.reference_version) of_reference.Add(r->counts);
    if (r->counts.disagree != 0) {
      by_version[r->model_version] += r->counts.disagree;
      by_build[r->runtime_build] += r->counts.disagree;
    }
  }
  const double n = static_cast<double>(all.exams);
  json w = {{"start", text::FormatDay(start)}, {"end", text::FormatDay(end)}, {"exams", all.exams}};
  w["class_mix"] = {{"client", all.client_class}, {"server", all.server_class}};
  w["mean_probabilities"] = {Ratio(all.probability_sum[0], n), Ratio(all.probability_sum[1], n),
                             Ratio(all.probability_sum[2], n)};
  w["ood"] = {{"rate", Ratio(all.ood, n)},
              {"checked", all.ood_checked},
              {"mean_distance",
               all.ood_checked > 0 ? json(all.ood_distance_sum / all.ood_checked) : json(nullptr)}};
  w["out_of_range_share"] = Ratio(all.out_of_range, n);
  w["warning_share"] = Ratio(all.with_warnings, n);
  w["figo_disagreement_rate"] = Ratio(all.figo_disagree, n);
  json versions = json::array(), builds = json::array();
  for (const auto& [version, count] : by_version) {
    versions.push_back({{"model_version", version}, {"count", count}});
  }
  for (const auto& [build, count] : by_build) {
    builds.push_back(
        {{"runtime_build", build.empty() ? json(nullptr) : json(build)}, {"count", count}});
  }
  w["client_server_disagreement"] = {{"count", all.disagree},
                                     {"by_model_version", versions},
                                     {"by_runtime_build", builds}};
  w["drift"] = Drift(request, of_reference);
  w["outcomes"] = {{"count", all.outcomes}, {"share", Ratio(all.outcomes, n)}};
  if (all.outcomes > 0) {
    const Performance p = PerformanceOf(all.confusion);
    std::vector<int64_t> cal_n(all.calibration_exams.begin(), all.calibration_exams.end());
    std::vector<double> cal_conf(all.calibration_confidence.begin(),
                                 all.calibration_confidence.end());
    std::vector<int64_t> cal_right(all.calibration_correct.begin(), all.calibration_correct.end());
    json recall = json::array();
    for (int k = 0; k < kNumClasses; ++k) {
      recall.push_back(p.has_support[k] ? json(p.recall[k]) : json(nullptr));
    }
    w["performance"] = {{"accuracy", p.accuracy},
                        {"accuracy_ci", p.accuracy_ci},
                        {"macro_f1", p.macro_f1},
                        {"recall", recall},
                        {"confusion", all.confusion},
                        {"ece", ExpectedCalibrationError(cal_n, cal_conf, cal_right)}};
  } else {
    w["performance"] = nullptr;
  }
  if (all.exams > 0) {
    const Estimate e = EstimatePerformance(all.exams, all.confidence_sum, all.confidence_sq_sum,
                                           all.confidence_by_class, all.probability_sum);
    w["estimated"] = {{"accuracy", e.accuracy},
                      {"accuracy_ci", e.accuracy_ci},
                      {"recall", e.recall}};
  } else {
    w["estimated"] = nullptr;
  }
  return w;
}

}  // namespace

json BuildReport(const ReportRequest& request, const std::vector<storage::DayStats>& days) {
  const Thresholds& t = request.thresholds;
  json out = {{"from", text::FormatDay(request.from_day)},
              {"to", text::FormatDay(request.to_day)},
              {"window", request.window_days == 7 ? "week" : "day"}};
  out["filters"] = {{"model_version",
                     request.model_version ? json(*request.model_version) : json(nullptr)},
                    {"submitted_by",
                     request.submitted_by ? json(*request.submitted_by) : json(nullptr)}};
  out["reference"] = {{"model_version", request.reference_version > 0
                                            ? json(request.reference_version)
                                            : json(nullptr)},
                      {"available", request.reference != nullptr}};
  out["thresholds"] = {{"psi_warn", t.psi_warn},
                       {"psi_alert", t.psi_alert},
                       {"js_alert", t.js_alert},
                       {"chi2_p_alert", t.chi2_p_alert},
                       {"feature_p_warn", t.feature_p_warn},
                       {"feature_p_alert", t.feature_p_alert},
                       {"min_expected_per_bin", t.min_expected_per_bin},
                       {"ood_rate_alert", t.ood_rate_alert},
                       {"disagreement_alert", t.disagreement_alert},
                       {"min_drift_exams", t.min_drift_exams}};
  json windows = json::array();
  size_t next = 0;
  for (int64_t start = request.from_day; start <= request.to_day; start += request.window_days) {
    const int64_t end = std::min(request.to_day, start + request.window_days - 1);
    std::vector<const storage::DayStats*> rows;
    while (next < days.size() && days[next].day < start) ++next;
    while (next < days.size() && days[next].day <= end) rows.push_back(&days[next++]);
    windows.push_back(Window(request, start, end, rows));
  }
  out["windows"] = std::move(windows);
  return out;
}

}  // namespace monitoring
}  // namespace fetal
