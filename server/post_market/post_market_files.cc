#include "post_market/post_market_files.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "fetal/schema.h"
#include "post_market/post_market_html.h"
#include "text/time_text.h"

namespace fetal {
namespace post_market {
namespace {

using nlohmann::json;
using storage::StoreStatus;

constexpr int kPage = 1000;
constexpr int kStableAttempts = 5;

std::string ClassName(int k) { return std::string(kClassNames[k]); }

}  // namespace

StoreStatus ExportRecords(storage::Store* store, const Period& period, std::string* jsonl) {
  jsonl->clear();
  std::string cursor;
  do {
    storage::ExamPage page;
    StoreStatus s = store->ListExams({}, cursor, kPage, &page);
    if (!s.ok()) return s;
    for (const storage::ExamRecord& e : page.exams) {
      const int64_t day = storage::ExamDay(e.input.client_timestamp, e.received_ms);
      if (day < period.from_day || day > period.to_day) continue;
      std::optional<storage::OutcomeRecord> outcome;
      s = store->GetLatestOutcome(e.id, &outcome);
      if (!s.ok()) return s;
      const json row = {{"id", e.id},
                        {"day", text::FormatDay(day)},
                        {"client_time", e.input.client_timestamp},
                        {"model_version", e.input.model_version},
                        {"client_class", ClassName(e.input.client_class)},
                        {"server_class", ClassName(e.input.server_class)},
                        {"agreement", e.input.agreement},
                        {"runtime_build", e.input.runtime_build.empty()
                                              ? json(nullptr)
                                              : json(e.input.runtime_build)},
                        {"submitted_by", e.submitted_by},
                        {"final_reading",
                         outcome ? json(ClassName(outcome->input.final_reading)) : json(nullptr)},
                        {"outcome_version", outcome ? json(outcome->version) : json(nullptr)},
                        {"content_sha256", e.content_sha256},
                        {"audit_seq", e.audit_seq}};
      *jsonl += row.dump(-1, ' ', false, json::error_handler_t::replace);
      *jsonl += '\n';
    }
    cursor = page.next_cursor;
  } while (!cursor.empty());
  return StoreStatus::Ok();
}

StoreStatus MakeReportFiles(storage::Store* store, const Period& period,
                            const server::AuditSigner& signer, bool with_records,
                            std::map<std::string, std::string>* files) {
  // The parts are separate reads, not one snapshot. Every write appends an audit event in its
  // own transaction, so an audit head unchanged from before the first read to after the last
  // means every part saw the same database.
  json report;
  std::string records;
  for (int attempt = 0;; ++attempt) {
    if (attempt == kStableAttempts) {
      return StoreStatus::Unavailable("the database kept changing while the report was read (" +
                                      std::to_string(kStableAttempts) + " attempts); try again");
    }
    storage::AuditCheckpoint before, after;
    StoreStatus s = store->Checkpoint(&before);
    if (s.ok()) s = BuildReport(store, period, signer.key_id(), &report);
    if (s.ok() && with_records) s = ExportRecords(store, period, &records);
    if (s.ok()) s = store->Checkpoint(&after);
    if (!s.ok()) return s;
    if (before.seq == after.seq) break;
  }
  files->clear();
  (*files)[kJsonFile] = ReportJsonText(report);
  (*files)[kHtmlFile] = RenderHtml(report);
  if (with_records) (*files)[kRecordsFile] = std::move(records);
  for (const char* name : {kJsonFile, kHtmlFile, kRecordsFile}) {
    const auto file = files->find(name);
    if (file == files->end()) continue;
    std::string signature;
    Status signed_ok = signer.SignDocument(file->second, &signature);
    if (!signed_ok.ok()) {
      return StoreStatus::Internal("signing " + file->first + " failed: " + signed_ok.message());
    }
    (*files)[file->first + kSignatureSuffix] = signature + "\n";
  }
  return StoreStatus::Ok();
}

}  // namespace post_market
}  // namespace fetal
