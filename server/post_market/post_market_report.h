// The post-market surveillance report (docs/monitoring.md "Post-market report"): what a period's
// exams, outcomes and audit chain say about the model in use, as one JSON document. Every
// figure in it comes from the monitoring answer (monitoring/report.h) over the period, its
// weeks, its calendar months and each model version; nothing is computed a second way here.
//
// The document depends only on the database: no clock is read, lists are in a fixed order, so
// the same database gives the same bytes (ReportJsonText).
//
// Thread-safety: pure functions over the store (whose methods are thread-safe).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/store.h"

namespace fetal {
namespace post_market {

// The longest period a report covers: `to` at most three years (of days, a leap day included)
// after `from`, so 2023-01-01 to 2026-01-01 is one report and a day more is not.
inline constexpr int64_t kMaxSpanDays = 3 * 365 + 1;

// The report's period, inclusive UTC days of the exams' client_time.
struct Period {
  int64_t from_day = 0;
  int64_t to_day = 0;
};

// Reads "YYYY-MM-DD" dates `from` and `to`. False with *field ("from" or "to") and *message (a
// sentence naming that field and the expected form) when either is malformed, from is after to
// or `to` is more than kMaxSpanDays after `from`. Messages call the fields `prefix` + "from"
// and `prefix` + "to" ("--" for command-line flags).
bool ParsePeriod(const std::string& from, const std::string& to, const std::string& prefix,
                 Period* period, std::string* field, std::string* message);

// Builds the report of `period`. `key_id` names the key that will sign it (recorded in the
// report so a verifier knows which public key to ask for).
storage::StoreStatus BuildReport(storage::Store* store, const Period& period,
                                 const std::string& key_id, nlohmann::json* report);

// The report's file form (report.json): indented, keys sorted, ending in a newline.
std::string ReportJsonText(const nlohmann::json& report);

}  // namespace post_market
}  // namespace fetal
