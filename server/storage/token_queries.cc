// SqlStore: API tokens (only their SHA-256 is stored; each change is an audit event).
#include "storage/audit_chain.h"
#include "storage/canonical.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/sql_store.h"
#include "text/storable.h"

namespace fetal {
namespace storage {
namespace {
constexpr size_t kMaxNameBytes = 128;
}  // namespace

StoreStatus SqlStore::CreateToken(const std::string& name, const std::string& role,
                                  const std::string& token_sha256, const Actor& by,
                                  TokenRecord* out) {
  size_t bad = 0;
  if (name.empty() || name.size() > kMaxNameBytes || !text::IsStorableText(name, &bad) ||
      name.find_first_of("\t\n\r") != std::string::npos) {
    return StoreStatus::InvalidArgument(
        "token name must be 1 to 128 bytes of UTF-8 text without control characters", "name");
  }
  if (role != "clinician" && role != "auditor" && role != "admin") {
    return StoreStatus::InvalidArgument("role must be clinician, auditor or admin", "role");
  }
  if (!IsSha256Hex(token_sha256)) {
    return StoreStatus::InvalidArgument("token hash must be 64 lowercase hex characters",
                                        "token_sha256");
  }
  TokenRecord rec;
  StoreStatus s = committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        SqlRows rows;
        // A name is never handed to another token, not even after its token was revoked: an
        // audit event's actor must keep meaning one principal.
        StoreStatus st = txn.Exec(
            "SELECT id, revoked, CASE WHEN name = $2 THEN 1 ELSE 0 END FROM tokens "
            "WHERE token_sha256 = $1 OR name = $2",
            {SqlValue::Text(token_sha256), SqlValue::Text(name)}, &rows);
        if (!st.ok()) return st;
        for (const SqlRow& row : rows) {
          if (row[2].AsInt() == 0) continue;  // the secret matched, below
          return StoreStatus::Conflict("the name \"" + name + "\" belongs to token " +
                                           std::to_string(row[0].AsInt()) +
                                           (row[1].AsInt() != 0 ? " (revoked)" : "") +
                                           "; token names are never reused, choose another",
                                       "name");
        }
        if (!rows.empty()) return StoreStatus::Conflict("the token secret is reused", "token");
        rows.clear();
        st = txn.Exec(
            "INSERT INTO tokens (name, role, token_sha256, created_ms, revoked, revoked_ms) "
            "VALUES ($1, $2, $3, $4, 0, 0) RETURNING id",
            {SqlValue::Text(name), SqlValue::Text(role), SqlValue::Text(token_sha256),
             SqlValue::Int(txn.now_ms)},
            &rows);
        if (!st.ok()) return st;
        rec.id = rows.at(0).at(0).AsInt();
        rec.name = name;
        rec.role = role;
        rec.token_sha256 = token_sha256;
        rec.created_ms = txn.now_ms;
        AuditEntry e{by, "token.create", "token/" + std::to_string(rec.id), "ok",
                     "name=" + name + ";role=" + role};
        return AppendEvent(txn, e, nullptr);
      },
      Isolation::kSavepoint);
  if (s.ok()) *out = rec;
  return s;
}

StoreStatus SqlStore::FindTokenByHash(const std::string& token_sha256, TokenRecord* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE token_sha256 = $1",
                   {SqlValue::Text(token_sha256)}, &rows);
  });
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::NotFound("no token with this hash");
  RowToToken(rows[0], out);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::ListTokens(std::vector<TokenRecord>* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kTokenColumns + " FROM tokens ORDER BY id", {}, &rows);
  });
  if (!s.ok()) return s;
  out->clear();
  for (const auto& r : rows) {
    out->emplace_back();
    RowToToken(r, &out->back());
  }
  return StoreStatus::Ok();
}

StoreStatus SqlStore::RevokeToken(int64_t id, const Actor& by) {
  return committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        SqlRows rows;
        StoreStatus st =
            txn.Exec("SELECT revoked FROM tokens WHERE id = $1", {SqlValue::Int(id)}, &rows);
        if (!st.ok()) return st;
        if (rows.empty()) return StoreStatus::NotFound("no token with id " + std::to_string(id));
        if (rows[0][0].AsInt() != 0) return StoreStatus::Ok();
        st = txn.Exec("UPDATE tokens SET revoked = 1, revoked_ms = $2 WHERE id = $1",
                      {SqlValue::Int(id), SqlValue::Int(txn.now_ms)}, nullptr);
        if (!st.ok()) return st;
        AuditEntry e{by, "token.revoke", "token/" + std::to_string(id), "ok", ""};
        return AppendEvent(txn, e, nullptr);
      },
      Isolation::kSavepoint);
}

}  // namespace storage
}  // namespace fetal
