// GET /api/v1/monitoring (docs/api.md, docs/monitoring.md): answered from the per-day
// aggregates, never from a scan of the exams. GET /api/v1/monitoring/rollout: the staged
// rollout's two cohorts side by side, computed as the rollout monitor computes them
// (rollout/cohort_signals.h), which does read the window's exams.
#include <httplib.h>

#include <algorithm>
#include <climits>

#include "http/query.h"
#include "http/release_state.h"
#include "http/responses.h"
#include "http/router.h"
#include "monitoring/report.h"
#include "rollout/cohort_signals.h"
#include "shadow/activation_gates.h"
#include "text/excerpt.h"
#include "text/number_text.h"
#include "text/storable.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

using nlohmann::json;

constexpr int64_t kMsPerDay = 86400000;
constexpr int64_t kDefaultDays = 30;
constexpr int64_t kMaxDays = 3660;  // ten years of daily windows at most
// The gauges' "current window": the last seven days, today included, so a quiet morning does
// not make an empty window.
constexpr int64_t kCurrentWindowDays = 7;

// Finds the reference version (the filter's, else the active one) and its reference, reads the
// aggregates and builds the answer.
StoreStatus BuildMonitoringReport(const Services& svc, monitoring::ReportRequest* request,
                                  const storage::DayStatsFilter& filter, json* out) {
  if (request->model_version) {
    request->reference_version = *request->model_version;
  } else {
    std::shared_ptr<const storage::ModelRecord> active;
    StoreStatus s = svc.registry->Active(&active);
    if (s.ok()) request->reference_version = active->version;
    else if (s.code() != Code::kNotFound) return s;
  }
  if (request->reference_version > 0) {
    ModelVersion version;
    StoreStatus s = svc.registry->Get(request->reference_version, &version);
    if (s.ok()) request->reference = version.reference;
    else if (s.code() != Code::kNotFound) return s;
  }
  std::vector<storage::DayStats> days;
  StoreStatus s = svc.store->QueryDayStats(filter, &days);
  if (s.ok()) *out = monitoring::BuildReport(*request, days);
  return s;
}

void AppendGauge(const std::string& name, const std::string& help, const std::string& labels,
                 double value, bool with_header, std::string* out) {
  if (with_header) *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
  *out += name + labels + " ";
  text::AppendShortest(value, out);
  *out += "\n";
}

double VerdictLevel(const json& verdict) {
  return verdict == "alert" ? 2 : verdict == "warn" ? 1 : 0;
}

bool QueryDay(const httplib::Request& req, httplib::Response& res, const char* name,
              std::optional<int64_t>* out) {
  if (!req.has_param(name)) return true;
  const std::string value = req.get_param_value(name);
  int64_t day = 0;
  if (!text::ParseDay(value, &day)) {
    SendError(res, 400, "invalid_parameter",
              std::string("query parameter ") + name + " must be a date YYYY-MM-DD, got \"" +
                  text::Excerpt(value) + "\"",
              name);
    return false;
  }
  *out = day;
  return true;
}

void GetMonitoring(const Services& svc, const httplib::Request& req, httplib::Response& res,
                   const Caller&) {
  std::optional<int64_t> from, to, model_version;
  if (!QueryDay(req, res, "from", &from) || !QueryDay(req, res, "to", &to) ||
      !QueryInt(req, res, "model_version", 1, INT64_MAX, &model_version)) {
    return;
  }
  monitoring::ReportRequest request;
  request.to_day = to.value_or(text::NowMs() / kMsPerDay);
  request.from_day = from.value_or(request.to_day - (kDefaultDays - 1));
  if (request.from_day > request.to_day) {
    SendError(res, 400, "invalid_parameter", "query parameter from must not be after to", "from");
    return;
  }
  if (request.to_day - request.from_day >= kMaxDays) {
    SendError(res, 400, "invalid_parameter",
              "from and to may be at most " + std::to_string(kMaxDays) + " days apart", "from");
    return;
  }
  if (req.has_param("window")) {
    const std::string window = req.get_param_value("window");
    if (window != "day" && window != "week") {
      SendError(res, 400, "invalid_parameter",
                "query parameter window must be day or week, got \"" + text::Excerpt(window) + "\"",
                "window");
      return;
    }
    request.window_days = window == "week" ? 7 : 1;
  }
  request.model_version = model_version;
  storage::DayStatsFilter filter{request.from_day, request.to_day, model_version, std::nullopt};
  if (req.has_param("submitted_by")) {
    const std::string name = req.get_param_value("submitted_by");
    if (name.empty() || name.size() > 128 || !text::IsStorableText(name)) {
      SendError(res, 400, "invalid_parameter",
                "query parameter submitted_by must be a token name (1 to 128 bytes of text), "
                "got \"" +
                    text::Excerpt(name) + "\"",
                "submitted_by");
      return;
    }
    request.submitted_by = name;
    // A name belongs to one token forever, so it names one principal; an unknown name has no
    // exams.
    std::vector<storage::TokenRecord> tokens;
    StoreStatus s = svc.store->ListTokens(&tokens);
    if (!s.ok()) {
      SendStoreError(res, s);
      return;
    }
    filter.submitted_by_id = -1;
    for (const auto& t : tokens) {
      if (t.name == name) filter.submitted_by_id = t.id;
    }
  }
  json report;
  StoreStatus s = BuildMonitoringReport(svc, &request, filter, &report);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  SendJson(res, 200, report);
}

// The published release's rollout (running, or the last one halted or promoted) with its cohorts
// over the window the monitor is judging now, or, once it ended, over its last window up to its
// end. {"rollout": null} when no rollout was ever started.
void GetRolloutCohorts(const Services& svc, const httplib::Request&, httplib::Response& res,
                       const Caller&) {
  PublishedRelease current;
  StoreStatus s = LoadPublishedRelease(svc.store, &current);
  if (s.code() == Code::kNotFound) {
    SendJson(res, 200, json{{"rollout", nullptr}});
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  const storage::RolloutRecord& rollout = current.rollout;
  json out{{"rollout", RolloutJson(rollout, current.rollout_manifest)}};
  ActivationPolicy policy;
  std::string error;
  if (!LoadActivationPolicy(svc.config->data_dir + "/activation-policy.json", &policy, &error)) {
    // The monitor decides nothing until the file is fixed (docs/rollout.md); say why.
    out["policy_error"] = error;
    SendJson(res, 200, out);
    return;
  }
  const bool running = rollout.state == "running";
  const int64_t now = text::NowMs();
  // Windows are [from, to) in milliseconds; a live view ends after this millisecond, so an exam
  // answered in the same millisecond as this request is counted.
  const CohortWindows windows =
      WindowsOf(rollout, policy.rollout.window_seconds, running ? now + 1 : rollout.ended_ms);
  CohortVerdict verdict;
  s = EvaluateCohorts(svc.store, svc.registry, policy.rollout, current.rollout_manifest, windows,
                      &verdict);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  out.update(verdict.evidence);
  out["policy_error"] = nullptr;
  out["window_seconds"] = policy.rollout.window_seconds;
  out["window"] = WindowsJson(windows);
  if (running) {
    // When the monitor next judges, and what it would decide on these figures.
    const int64_t due = rollout.step_started_ms + policy.rollout.window_seconds * 1000;
    out["window"]["decision_due"] = text::FormatTime(std::max(due, now));
    const auto action = DecisionOn(verdict, rollout.step + 1 >= rollout.steps);
    out["would_decide"] = !action                                       ? "wait"
                          : *action == storage::RolloutAction::kHalt    ? "halt"
                          : *action == storage::RolloutAction::kPromote ? "promote"
                                                                        : "step";
  } else {
    out["would_decide"] = nullptr;
  }
  SendJson(res, 200, out);
}

}  // namespace

void AppendMonitoringMetrics(const Services& svc, std::string* text) {
  monitoring::ReportRequest request;
  request.to_day = text::NowMs() / kMsPerDay;
  request.from_day = request.to_day - (kCurrentWindowDays - 1);
  request.window_days = kCurrentWindowDays;
  json report;
  StoreStatus s =
      BuildMonitoringReport(svc, &request,
                            storage::DayStatsFilter{request.from_day, request.to_day, {}, {}},
                            &report);
  AppendGauge("fetal_monitoring_up", "1 if the monitoring aggregates could be read.", "",
              s.ok() ? 1 : 0, true, text);
  if (!s.ok() || report["windows"].empty()) return;
  const json& w = report["windows"][0];
  const std::string p = "fetal_monitoring_";
  AppendGauge(p + "exams", "Exams of the last 7 days (by exam time).", "", w["exams"], true, text);
  AppendGauge(p + "ood_rate", "Share of the last 7 days' exams flagged out of distribution.", "",
              w["ood"]["rate"], true, text);
  AppendGauge(p + "client_server_disagreements",
              "Exams of the last 7 days whose browser result disagreed with the server's.", "",
              w["client_server_disagreement"]["count"], true, text);
  if (w["estimated"].is_object()) {
    AppendGauge(p + "estimated_accuracy",
                "Label-free expected accuracy of the last 7 days' exams (CBPE).", "",
                w["estimated"]["accuracy"], true, text);
  }
  if (w["performance"].is_object()) {
    AppendGauge(p + "accuracy", "Accuracy on the last 7 days' exams that have an outcome.", "",
                w["performance"]["accuracy"], true, text);
  }
  AppendGauge(p + "outcome_share", "Share of the last 7 days' exams with an outcome.", "",
              w["outcomes"]["share"], true, text);
  if (!w["drift"].is_object()) return;
  const json& drift = w["drift"];
  AppendGauge(p + "drift_verdict", "Worst drift verdict of the last 7 days: 0 ok, 1 warn, 2 alert.",
              "", VerdictLevel(drift["verdict"]), true, text);
  AppendGauge(p + "prediction_drift_verdict",
              "Class-mix drift verdict of the last 7 days: 0 ok, 2 alert.", "",
              VerdictLevel(drift["prediction"]["verdict"]), true, text);
  AppendGauge(p + "prediction_drift_p_value",
              "Chi-square p-value of the server class mix against the reference.", "",
              drift["prediction"]["p_value"], true, text);
  bool first = true;
  for (const json& f : drift["features"]) {
    AppendGauge(p + "feature_drift_verdict", "Drift verdict per feature: 0 ok, 1 warn, 2 alert.",
                "{feature=\"" + f["key"].get<std::string>() + "\"}", VerdictLevel(f["verdict"]),
                first, text);
    first = false;
  }
  first = true;
  for (const json& f : drift["features"]) {
    AppendGauge(p + "feature_psi", "Population stability index per feature.",
                "{feature=\"" + f["key"].get<std::string>() + "\"}", f["psi"], first, text);
    first = false;
  }
}

void AddMonitoringRoutes(Router* router) {
  router->Get("/api/v1/monitoring", "/api/v1/monitoring", Roles(Role::kAuditor, Role::kAdmin),
              GetMonitoring, {{"from", "to", "window", "model_version", "submitted_by"}});
  router->Get("/api/v1/monitoring/rollout", "/api/v1/monitoring/rollout",
              Roles(Role::kAuditor, Role::kAdmin), GetRolloutCohorts);
}

}  // namespace server
}  // namespace fetal
