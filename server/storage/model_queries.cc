// SqlStore: the model registry (bundles, signatures, the one active version).
#include "fetal/sha256.h"
#include "storage/audit_chain.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/sql_store.h"

namespace fetal {
namespace storage {

StoreStatus SqlStore::PutModel(const ModelInput& model, const Actor& by, ModelRecord* out) {
  if (model.version < 0) return StoreStatus::InvalidArgument("version must be >= 0", "version");
  if (model.bundle.empty()) return StoreStatus::InvalidArgument("bundle is empty", "bundle");
  std::string actual = Sha256Hex(model.bundle.data(), model.bundle.size());
  if (model.sha256 != actual) {
    return StoreStatus::InvalidArgument("sha256 does not match the bundle bytes (expected " +
                                            actual + ")",
                                        "sha256");
  }
  ModelRecord rec;
  StoreStatus s = committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        SqlRows rows;
        int64_t version = model.version;
        StoreStatus st;
        if (version == 0) {
          st = txn.Exec("SELECT COALESCE(MAX(version), 0) + 1 FROM models", {}, &rows);
          if (!st.ok()) return st;
          version = rows.at(0).at(0).AsInt();
        } else {
          st = txn.Exec("SELECT version FROM models WHERE version = $1", {SqlValue::Int(version)},
                        &rows);
          if (!st.ok()) return st;
          if (!rows.empty()) {
            return StoreStatus::Conflict("model version " + std::to_string(version) +
                                             " already exists",
                                         "version");
          }
        }
        st = txn.Exec(
            "INSERT INTO models (version, sha256, signature, metadata_json, created_ms, active, "
            "bundle) VALUES ($1, $2, $3, $4, $5, 0, $6)",
            {SqlValue::Int(version), SqlValue::Text(model.sha256), SqlValue::Text(model.signature),
             SqlValue::Text(model.metadata_json), SqlValue::Int(txn.now_ms),
             SqlValue::Blob(model.bundle)},
            nullptr);
        if (!st.ok()) return st;
        rec.version = version;
        rec.sha256 = model.sha256;
        rec.signature = model.signature;
        rec.metadata_json = model.metadata_json;
        rec.created_ms = txn.now_ms;
        AuditEntry e{by, "model.put", "model/" + std::to_string(version), "ok",
                     "sha256=" + model.sha256};
        return AppendEvent(txn, e, nullptr);
      },
      Isolation::kSavepoint);
  if (s.ok()) *out = std::move(rec);
  return s;
}

StoreStatus SqlStore::ListModels(std::vector<ModelRecord>* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kModelColumns + " FROM models ORDER BY version", {},
                   &rows);
  });
  if (!s.ok()) return s;
  out->clear();
  for (const auto& r : rows) {
    out->emplace_back();
    RowToModel(r, &out->back());
  }
  return StoreStatus::Ok();
}

StoreStatus SqlStore::GetModel(int64_t version, ModelRecord* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kModelColumns +
                       ", bundle FROM models WHERE version = $1",
                   {SqlValue::Int(version)}, &rows);
  });
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::NotFound("no model version " + std::to_string(version));
  RowToModel(rows[0], out);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::GetActiveModel(ModelRecord* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kModelColumns +
                       ", bundle FROM models WHERE active = 1 ORDER BY version DESC LIMIT 1",
                   {}, &rows);
  });
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::NotFound("no model is active");
  RowToModel(rows[0], out);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::CheckModelExists(WriteTxn& txn, int64_t version) {
  SqlRows rows;
  StoreStatus st =
      txn.Exec("SELECT version FROM models WHERE version = $1", {SqlValue::Int(version)}, &rows);
  if (st.ok() && rows.empty()) {
    return StoreStatus::NotFound("no model version " + std::to_string(version));
  }
  return st;
}

StoreStatus SqlStore::ActivateModel(int64_t version, const Actor& by, const ActivationNote& note) {
  return committer_->Run([&](WriteTxn& txn)
                             -> StoreStatus { return ActivateInTxn(txn, version, by, note); },
                         Isolation::kSavepoint);
}

StoreStatus SqlStore::ActivateInTxn(WriteTxn& txn, int64_t version, const Actor& by,
                                    const ActivationNote& note) {
  StoreStatus st = CheckModelExists(txn, version);
  if (!st.ok()) return st;
  SqlRows rows;
  st = txn.Exec("SELECT version FROM models WHERE active = 1", {}, &rows);
  if (!st.ok()) return st;
  std::string previous = rows.empty() ? "none" : std::to_string(rows[0][0].AsInt());
  st = txn.Exec(
      "UPDATE models SET active = CASE WHEN version = $1 THEN 1 ELSE 0 END "
      "WHERE active = 1 OR version = $1",
      {SqlValue::Int(version)}, nullptr);
  if (!st.ok()) return st;
  AuditEntry e{by, "model.activate", "model/" + std::to_string(version), note.outcome,
               "previous=" + previous + (note.details.empty() ? "" : " " + note.details)};
  st = AppendEvent(txn, e, nullptr);
  if (!st.ok()) return st;
  // The active model is what shadows are compared with: it leaves the shadow set.
  rows.clear();
  st = txn.Exec("SELECT version FROM shadow_models WHERE version = $1", {SqlValue::Int(version)},
                &rows);
  if (!st.ok() || rows.empty()) return st;
  st = txn.Exec("DELETE FROM shadow_models WHERE version = $1", {SqlValue::Int(version)}, nullptr);
  if (!st.ok()) return st;
  return AppendEvent(txn,
                     AuditEntry{by, "model.shadow.stop", "model/" + std::to_string(version), "ok",
                                "activated"},
                     nullptr);
}

}  // namespace storage
}  // namespace fetal
