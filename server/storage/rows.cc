#include "storage/rows.h"

#include <utility>

#include "fetal/sha256.h"
#include "storage/canonical.h"

namespace fetal {
namespace storage {

StoreStatus RowToExam(const SqlRow& r, ExamRecord* out) {
  ExamRecord e;
  e.id = r[0].AsInt();
  e.submitted_by = r[1].AsText();
  e.input.client_exam_id = r[2].AsText();
  e.input.body_sha256 = r[3].AsText();
  bool ok = ParseDoubles(r[4].AsText(), e.input.features.data(), kNumFeatures);
  e.input.client_class = static_cast<int>(r[5].AsInt());
  ok = ok && ParseDoubles(r[6].AsText(), e.input.client_probabilities.data(), kNumClasses);
  e.input.model_version = r[7].AsInt();
  e.input.server_class = static_cast<int>(r[8].AsInt());
  ok = ok && ParseDoubles(r[9].AsText(), e.input.server_probabilities.data(), kNumClasses);
  e.input.agreement = r[10].AsInt() != 0;
  e.input.max_abs_diff = r[11].AsDouble();
  e.input.patient_ref = r[12].AsText();
  e.input.note = r[13].AsText();
  e.input.client_timestamp = r[14].AsText();
  e.received_ms = r[15].AsInt();
  e.audit_seq = r[16].AsInt();
  e.submitted_by_id = r[17].AsInt();
  e.content_version = static_cast<int>(r[18].AsInt());
  const int64_t set = r[19].AsInt();  // a class mask, 0..7 (0: no set known)
  e.input.server_set = static_cast<unsigned>(set);
  e.input.runtime_build = r[20].AsText();
  if (!ok) {
    return StoreStatus::Corruption("exam " + std::to_string(e.id) +
                                   ": stored numbers are not in canonical list form");
  }
  if (e.content_version < 1 || e.content_version > kExamContentVersion) {
    return StoreStatus::Corruption("exam " + std::to_string(e.id) + ": unknown content_version " +
                                   std::to_string(e.content_version));
  }
  if (set < 0 || set > 7) {
    return StoreStatus::Corruption("exam " + std::to_string(e.id) + ": server_set " +
                                   std::to_string(set) + " is not a class mask");
  }
  e.content_sha256 = ExamContentHash(e);
  *out = std::move(e);
  return StoreStatus::Ok();
}

StoreStatus RowToOutcome(const SqlRow& r, OutcomeRecord* out) {
  OutcomeRecord o;
  o.exam_id = r[0].AsInt();
  o.version = r[1].AsInt();
  o.input.final_reading = static_cast<int>(r[2].AsInt());
  OutcomeText t{r[3].AsText(), r[4].AsText(), r[5].AsText(), r[6].AsText()};
  if (!ParseOutcome(t, &o.input)) {
    return StoreStatus::Corruption("outcome " + std::to_string(o.version) + " of exam " +
                                   std::to_string(o.exam_id) + ": stored values do not parse");
  }
  o.recorded_by = r[7].AsText();
  o.recorded_by_id = r[8].AsInt();
  o.recorded_ms = r[9].AsInt();
  o.audit_seq = r[10].AsInt();
  const std::string canonical = CanonicalOutcome(o);
  o.content_sha256 = Sha256Hex(canonical.data(), canonical.size());
  *out = std::move(o);
  return StoreStatus::Ok();
}

void RowToAudit(const SqlRow& r, AuditEvent* out) {
  out->seq = r[0].AsInt();
  out->time_ms = r[1].AsInt();
  out->entry.actor.name = r[2].AsText();
  out->entry.actor.role = r[3].AsText();
  out->entry.actor.request_id = r[4].AsText();
  out->entry.action = r[5].AsText();
  out->entry.object = r[6].AsText();
  out->entry.outcome = r[7].AsText();
  out->entry.details = r[8].AsText();
  out->prev_hash = r[9].AsText();
  out->hash = r[10].AsText();
}

void RowsToAudit(const SqlRows& rows, std::vector<AuditEvent>* out) {
  out->clear();
  for (const auto& r : rows) {
    out->emplace_back();
    RowToAudit(r, &out->back());
  }
}

void RowToToken(const SqlRow& r, TokenRecord* out) {
  out->id = r[0].AsInt();
  out->name = r[1].AsText();
  out->role = r[2].AsText();
  out->token_sha256 = r[3].AsText();
  out->created_ms = r[4].AsInt();
  out->revoked = r[5].AsInt() != 0;
  out->revoked_ms = r[6].AsInt();
}

void RowToCheckpoint(const SqlRow& r, SignedCheckpoint* out) {
  out->id = r[0].AsInt();
  out->seq = r[1].AsInt();
  out->hash = r[2].AsText();
  out->time_ms = r[3].AsInt();
  out->key_id = r[4].AsText();
  out->signature = r[5].AsText();
}

void RowToModel(const SqlRow& r, ModelRecord* out) {
  out->version = r[0].AsInt();
  out->sha256 = r[1].AsText();
  out->signature = r[2].AsText();
  out->metadata_json = r[3].AsText();
  out->created_ms = r[4].AsInt();
  out->active = r[5].AsInt() != 0;
  if (r.size() > 6) out->bundle = r[6].AsBlob();
}

}  // namespace storage
}  // namespace fetal
