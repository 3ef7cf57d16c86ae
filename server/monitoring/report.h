// The monitoring answer (GET /api/v1/monitoring, docs/api.md): per window, the aggregates of its
// days summed and turned into rates, drift against the model's reference, real performance
// from outcomes and the label-free estimate.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitoring/reference.h"
#include "storage/store.h"

namespace fetal {
namespace monitoring {

// An unchanged window runs kNumFeatures + 1 drift tests (each feature, the class mix); each
// alerts below this p-value over that count (Bonferroni), so the chance that any of them
// alerts on a window without a change is at most this.
inline constexpr double kWindowFalseAlarmRate = 0.001;
inline constexpr double kDriftAlertP = kWindowFalseAlarmRate / (kNumFeatures + 1);

// docs/monitoring.md explains each threshold.
struct Thresholds {
  double psi_warn = 0.1;
  double psi_alert = 0.25;
  double js_alert = 0.1;
  double chi2_p_alert = kDriftAlertP;
  // A feature's PSI or JS above its threshold counts only when the window's bin counts also
  // differ from the reference's proportions beyond chance (chi-square p below these): PSI of a
  // small sample is large by chance alone.
  double feature_p_warn = 0.01;
  double feature_p_alert = kDriftAlertP;
  // Reference bins expecting fewer of the window's exams than this are merged with their
  // neighbours before PSI, JS and chi-square (MergeSparseBins). At the alert p-values (about
  // 1e-5) chi-square's approximation needs this many: with 5, a bin expecting 7.5 exams that
  // got 22 scored p 5e-7 where its exact binomial tail is about 1e-5 (docs/monitoring.md).
  double min_expected_per_bin = 20;
  double ood_rate_alert = 0.1;
  int64_t disagreement_alert = 1;
  // Below this many exams (of the reference's model version) a window's drift is computed but
  // its verdicts stay "ok": PSI of a small sample is large by chance alone.
  int64_t min_drift_exams = 100;
};

struct ReportRequest {
  int64_t from_day = 0;  // inclusive
  int64_t to_day = 0;    // inclusive
  int window_days = 1;   // 1 (day) or 7 (week: seven-day windows starting at from_day)
  std::optional<int64_t> model_version;
  std::optional<std::string> submitted_by;
  // The version drift is measured for (the filter's, else the active one), 0 when none, and its
  // reference (null when that version has none or could not be loaded).
  int64_t reference_version = 0;
  std::shared_ptr<const MonitoringReference> reference;
  Thresholds thresholds;
};

// `days` as QueryDayStats returns them for the request's range and filters.
nlohmann::json BuildReport(const ReportRequest& request,
                           const std::vector<storage::DayStats>& days);

}  // namespace monitoring
}  // namespace fetal
