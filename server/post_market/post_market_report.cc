#include "post_market/post_market_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "api_json.h"
#include "monitoring/reference.h"
#include "monitoring/report.h"
#include "text/excerpt.h"
#include "text/time_text.h"

namespace fetal {
namespace post_market {
namespace {

using nlohmann::json;
using storage::DayStats;
using storage::StoreStatus;

constexpr char kFormat[] = "fetal-post-market-report-v1";
constexpr char kAlgorithm[] =
    "ECDSA P-256 with SHA-256 over each file's exact bytes; FILE.sig holds the base64 of the "
    "64-byte r||s (the audit checkpoints' key and scheme)";
constexpr char kUsageNote[] =
    "Every exam counted is a clinical exam: the web app never submits exams made from its "
    "sample buttons.";

// The monitoring answer over [from, to] in windows of `window_days`, drift measured for
// `reference_version` against `reference` (none when null).
json Monitoring(int64_t from, int64_t to, int64_t window_days, int64_t reference_version,
                std::shared_ptr<const MonitoringReference> reference,
                const std::vector<DayStats>& days) {
  monitoring::ReportRequest request;
  request.from_day = from;
  request.to_day = to;
  request.window_days = static_cast<int>(window_days);
  request.reference_version = reference_version;
  request.reference = std::move(reference);
  return monitoring::BuildReport(request, days);
}

// The monitoring window spanning [from, to] whole.
json Whole(int64_t from, int64_t to, const std::vector<DayStats>& days,
           int64_t reference_version = 0,
           std::shared_ptr<const MonitoringReference> reference = nullptr) {
  return Monitoring(from, to, to - from + 1, reference_version, std::move(reference),
                    days)["windows"][0];
}

// The calendar months the period touches, cut to the period.
std::vector<std::pair<int64_t, int64_t>> Months(const Period& period) {
  std::vector<std::pair<int64_t, int64_t>> months;
  for (int64_t start = period.from_day; start <= period.to_day;) {
    const std::string day = text::FormatDay(start);
    int year = std::stoi(day.substr(0, 4)), month = std::stoi(day.substr(5, 2)) + 1;
    if (month == 13) {
      month = 1;
      ++year;
    }
    char next_text[32];
    std::snprintf(next_text, sizeof next_text, "%04d-%02d-01", year, month);
    int64_t next = 0;
    if (!text::ParseDay(next_text, &next)) next = period.to_day + 1;
    months.emplace_back(start, std::min(period.to_day, next - 1));
    start = next;
  }
  return months;
}

std::vector<DayStats> OfVersion(const std::vector<DayStats>& days, int64_t version) {
  std::vector<DayStats> out;
  for (const DayStats& d : days) {
    if (d.model_version == version) out.push_back(d);
  }
  return out;
}

json Span(const json& window) { return {{"start", window["start"]}, {"end", window["end"]}}; }

// Exams in a set of aggregate rows (each already cut to the period by its query).
int64_t ExamsIn(const std::vector<DayStats>& days) {
  int64_t exams = 0;
  for (const DayStats& d : days) exams += d.counts.exams;
  return exams;
}

// Exams per submitter and per role: one aggregate query per token (the rows the store returns
// are summed over submitters, so a submitter's share needs its own query).
StoreStatus Usage(storage::Store* store, const Period& period, json* by_role, json* by_submitter) {
  std::vector<storage::TokenRecord> tokens;
  StoreStatus s = store->ListTokens(&tokens);
  if (!s.ok()) return s;
  std::sort(tokens.begin(), tokens.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::map<std::string, int64_t> role_exams, role_submitters;
  *by_submitter = json::array();
  for (const storage::TokenRecord& t : tokens) {
    std::vector<DayStats> days;
    s = store->QueryDayStats({period.from_day, period.to_day, std::nullopt, t.id}, &days);
    if (!s.ok()) return s;
    const int64_t exams = ExamsIn(days);
    if (exams == 0) continue;
    by_submitter->push_back({{"name", t.name}, {"role", t.role}, {"exams", exams}});
    role_exams[t.role] += exams;
    ++role_submitters[t.role];
  }
  *by_role = json::array();
  for (const auto& [role, exams] : role_exams) {
    by_role->push_back({{"role", role}, {"submitters", role_submitters[role]}, {"exams", exams}});
  }
  return StoreStatus::Ok();
}

StoreStatus Audit(storage::Store* store, json* out) {
  storage::AuditCheckpoint head;
  StoreStatus s = store->Checkpoint(&head);
  if (!s.ok()) return s;
  json time = nullptr;
  if (head.seq > 0) {
    storage::AuditEvent event;
    s = store->GetAudit(head.seq, &event);
    if (!s.ok()) return s;
    time = text::FormatTime(event.time_ms);
  }
  json latest = nullptr;
  for (int64_t after = 0;;) {
    std::vector<storage::SignedCheckpoint> page;
    s = store->ListCheckpoints(after, 1000, &page);
    if (!s.ok()) return s;
    if (page.empty()) break;
    latest = server::CheckpointToJson(page.back());
    after = page.back().id;
    if (page.size() < 1000) break;
  }
  *out = {{"head", {{"seq", head.seq}, {"hash", head.hash}, {"time", time}}},
          {"latest_checkpoint", latest}};
  return StoreStatus::Ok();
}

// Per model version with exams in the period: its registry entry, its share of the exams, its
// drift against its own reference (whole period and per week) and its performance.
StoreStatus Versions(storage::Store* store, const Period& period, const std::vector<DayStats>& days,
                     const json& all, json* versions, json* drift, json* performance) {
  std::vector<storage::ModelRecord> models;
  StoreStatus s = store->ListModels(&models);
  if (!s.ok()) return s;
  std::map<int64_t, const storage::ModelRecord*> registered;
  for (const auto& m : models) registered[m.version] = &m;
  std::set<int64_t> in_use;
  for (const DayStats& d : days) in_use.insert(d.model_version);
  *versions = json::array();
  *drift = json::array();
  *performance = json::array();
  const double total = all["exams"].get<double>();
  for (int64_t version : in_use) {
    std::shared_ptr<const MonitoringReference> reference;
    const auto found = registered.find(version);
    if (found != registered.end()) {
      storage::ModelRecord record;
      s = store->GetModel(version, &record);
      if (!s.ok()) return s;
      reference = monitoring::ReferenceOfBundle(record.bundle);
    }
    const std::vector<DayStats> rows = OfVersion(days, version);
    const json w = Whole(period.from_day, period.to_day, rows, version, reference);
    const int64_t exams = w["exams"];
    if (exams == 0) continue;
    std::string first, last;
    for (const DayStats& d : rows) {
      if (d.counts.exams == 0) continue;
      if (first.empty()) first = text::FormatDay(d.day);
      last = text::FormatDay(d.day);
    }
    const bool known = found != registered.end();
    versions->push_back(
        {{"model_version", version},
         {"sha256", known ? json(found->second->sha256) : json(nullptr)},
         {"registered", known ? json(text::FormatTime(found->second->created_ms)) : json(nullptr)},
         {"active_now", known && found->second->active},
         {"exams", exams},
         {"share", total > 0 ? exams / total : 0.0},
         {"first_exam_day", first},
         {"last_exam_day", last},
         {"reference_available", reference != nullptr}});
    json weeks = json::array();
    if (reference) {
      const json windows =
          Monitoring(period.from_day, period.to_day, 7, version, reference, rows)["windows"];
      for (const json& week : windows) {
        const json& d = week["drift"];
        json verdicts = json::object();
        for (const json& f : d["features"]) verdicts[f["key"].get<std::string>()] = f["verdict"];
        json entry = Span(week);
        entry["exams"] = d["exams"];
        entry["enough_data"] = d["enough_data"];
        entry["verdict"] = d["verdict"];
        entry["prediction_verdict"] = d["prediction"]["verdict"];
        entry["features"] = std::move(verdicts);
        weeks.push_back(std::move(entry));
      }
    }
    drift->push_back({{"model_version", version},
                      {"reference_available", reference != nullptr},
                      {"period", w["drift"]},
                      {"by_week", std::move(weeks)}});
    performance->push_back({{"model_version", version},
                            {"exams", exams},
                            {"outcomes", w["outcomes"]},
                            {"real", w["performance"]},
                            {"estimated", w["estimated"]}});
  }
  return StoreStatus::Ok();
}

}  // namespace

bool ParsePeriod(const std::string& from, const std::string& to, const std::string& prefix,
                 Period* period, std::string* field, std::string* message) {
  const std::string from_name = prefix + "from", to_name = prefix + "to";
  const auto bad_date = [&](const char* name, const std::string& value) {
    *field = name;
    *message = prefix + name + " must be a date YYYY-MM-DD, got \"" + text::Excerpt(value) + "\"";
    return false;
  };
  if (!text::ParseDay(from, &period->from_day)) return bad_date("from", from);
  if (!text::ParseDay(to, &period->to_day)) return bad_date("to", to);
  if (period->from_day > period->to_day) {
    *field = "from";
    *message = from_name + " (" + from + ") must not be after " + to_name + " (" + to + ")";
    return false;
  }
  if (period->to_day - period->from_day > kMaxSpanDays) {
    *field = "to";
    *message = to_name + " (" + to + ") may be at most " + std::to_string(kMaxSpanDays) +
               " days (three years) after " + from_name + " (" + from + ")";
    return false;
  }
  return true;
}

StoreStatus BuildReport(storage::Store* store, const Period& period, const std::string& key_id,
                        json* report) {
  std::vector<DayStats> days;
  StoreStatus s = store->QueryDayStats({period.from_day, period.to_day, {}, {}}, &days);
  if (!s.ok()) return s;
  const json overall = Monitoring(period.from_day, period.to_day,
                                  period.to_day - period.from_day + 1, 0, nullptr, days);
  const json& all = overall["windows"][0];
  const json weeks = Monitoring(period.from_day, period.to_day, 7, 0, nullptr, days)["windows"];

  json by_role, by_submitter, audit, versions, drift, performance_by_version;
  s = Usage(store, period, &by_role, &by_submitter);
  if (s.ok()) s = Audit(store, &audit);
  if (s.ok()) {
    s = Versions(store, period, days, all, &versions, &drift, &performance_by_version);
  }
  if (!s.ok()) return s;

  json usage_weeks = json::array(), quality_weeks = json::array(),
       disagreement_weeks = json::array();
  for (const json& w : weeks) {
    json usage = Span(w), quality = Span(w), disagreement = Span(w);
    usage["exams"] = w["exams"];
    quality["exams"] = w["exams"];
    quality["warning_share"] = w["warning_share"];
    quality["out_of_range_share"] = w["out_of_range_share"];
    quality["ood_rate"] = w["ood"]["rate"];
    disagreement["exams"] = w["exams"];
    disagreement["count"] = w["client_server_disagreement"]["count"];
    usage_weeks.push_back(std::move(usage));
    quality_weeks.push_back(std::move(quality));
    disagreement_weeks.push_back(std::move(disagreement));
  }
  json usage_months = json::array(), performance_months = json::array();
  for (const auto& [start, end] : Months(period)) {
    const json w = Whole(start, end, days);
    const std::string month = text::FormatDay(start).substr(0, 7);
    json usage = Span(w), performance = Span(w);
    usage["month"] = month;
    usage["exams"] = w["exams"];
    performance["month"] = month;
    performance["exams"] = w["exams"];
    performance["outcomes"] = w["outcomes"];
    performance["real"] = w["performance"];
    performance["estimated"] = w["estimated"];
    usage_months.push_back(std::move(usage));
    performance_months.push_back(std::move(performance));
  }

  // The worst verdict over the versions with a reference, of the whole period and of each week:
  // a change that started late in a long period is diluted in the whole-period figures, so the
  // summary must not say "ok" when a week alerted. Null when no version has a reference.
  json worst = nullptr;
  const auto take = [&worst](const json& verdict) {
    if (!verdict.is_string()) return;
    if (worst.is_null() || verdict == "alert" || (verdict == "warn" && worst == "ok")) {
      worst = verdict;
    }
  };
  for (const json& v : drift) {
    if (!v["period"].is_object()) continue;
    take(v["period"]["verdict"]);
    for (const json& week : v["by_week"]) take(week["verdict"]);
  }
  json disagreement = all["client_server_disagreement"];
  disagreement["by_week"] = std::move(disagreement_weeks);
  *report = {
      {"format", kFormat},
      {"period",
       {{"from", text::FormatDay(period.from_day)},
        {"to", text::FormatDay(period.to_day)},
        {"days", period.to_day - period.from_day + 1}}},
      {"as_of", audit["head"]["time"]},
      {"signing", {{"key_id", key_id}, {"algorithm", kAlgorithm}}},
      {"thresholds", overall["thresholds"]},
      {"usage",
       {{"exams", all["exams"]},
        {"note", kUsageNote},
        {"by_week", std::move(usage_weeks)},
        {"by_month", std::move(usage_months)},
        {"by_role", std::move(by_role)},
        {"by_submitter", std::move(by_submitter)}}},
      {"model_versions", std::move(versions)},
      {"data_quality",
       {{"exams", all["exams"]},
        {"warning_share", all["warning_share"]},
        {"out_of_range_share", all["out_of_range_share"]},
        {"ood", all["ood"]},
        {"figo_disagreement_rate", all["figo_disagreement_rate"]},
        {"by_week", std::move(quality_weeks)}}},
      {"drift", {{"verdict", worst}, {"by_model_version", std::move(drift)}}},
      {"client_server_disagreement", std::move(disagreement)},
      {"performance",
       {{"outcomes", all["outcomes"]},
        {"real", all["performance"]},
        {"estimated", all["estimated"]},
        {"by_month", std::move(performance_months)},
        {"by_model_version", std::move(performance_by_version)}}},
      {"audit", std::move(audit)},
  };
  return StoreStatus::Ok();
}

std::string ReportJsonText(const json& report) {
  return report.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace post_market
}  // namespace fetal
