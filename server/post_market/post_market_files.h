// The files of a post-market report (docs/monitoring.md "Post-market report"), as
// `fetal-server report` writes them into a directory and GET /api/v1/reports/post-market serves
// them:
//
//   report.json     the report (post_market_report.h)
//   report.html     the same for a person (post_market_html.h)
//   records.jsonl   the period's exams, one JSON object per line (the CLI only): what a verifier
//                   recomputes figures from (fetal-audit post-market-check)
//   FILE.sig        for each of them, the audit key's detached signature over FILE's exact bytes
//
// Thread-safety: pure functions over the store and the signer (both thread-safe).
#pragma once

#include <map>
#include <string>

#include "audit_signer.h"
#include "post_market/post_market_report.h"
#include "storage/store.h"

namespace fetal {
namespace post_market {

inline constexpr char kJsonFile[] = "report.json";
inline constexpr char kHtmlFile[] = "report.html";
inline constexpr char kRecordsFile[] = "records.jsonl";
inline constexpr char kSignatureSuffix[] = ".sig";

// The period's exams (by ExamDay, as the aggregates count them) in ascending id, one compact
// JSON object per line, keys sorted: id, day, client_time, model_version, client_class,
// server_class, agreement, runtime_build, submitted_by, final_reading (the latest outcome's, or
// null), outcome_version, content_sha256, audit_seq. Reads every exam once (pages of 1000).
storage::StoreStatus ExportRecords(storage::Store* store, const Period& period, std::string* jsonl);

// name -> bytes of report.json, report.html and their signatures; with `with_records`, also
// records.jsonl and its signature. All of them describe one state of the database: the reads
// are repeated while the audit head moves under them, and Unavailable after five attempts.
storage::StoreStatus MakeReportFiles(storage::Store* store, const Period& period,
                                     const server::AuditSigner& signer, bool with_records,
                                     std::map<std::string, std::string>* files);

}  // namespace post_market
}  // namespace fetal
