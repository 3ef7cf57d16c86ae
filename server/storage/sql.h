// SqlConn: the little SQL surface both backends share, so the store logic (group commit, audit
// chain, idempotency) is written once. Internal to fetal_storage.
//
// Statements use PostgreSQL-style placeholders ($1, $2, ...); the SQLite connection binds them by
// name. Every statement is prepared once per connection and cached by its text.
//
// Thread-safety: a SqlConn is used by one thread at a time (the reader pool or the committer
// guarantees it); distinct connections may be used concurrently. A Database is immutable and
// may be shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/store.h"

namespace fetal {
namespace storage {

// A parameter or a result cell.
struct SqlValue {
  enum class Type { kNull, kInt, kDouble, kText, kBlob };
  Type type = Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;  // kText / kBlob bytes

  SqlValue() = default;
  static SqlValue Int(int64_t v) {
    SqlValue x;
    x.type = Type::kInt;
    x.i = v;
    return x;
  }
  static SqlValue Double(double v) {
    SqlValue x;
    x.type = Type::kDouble;
    x.d = v;
    return x;
  }
  static SqlValue Text(std::string v) {
    SqlValue x;
    x.type = Type::kText;
    x.s = std::move(v);
    return x;
  }
  static SqlValue Blob(std::string v) {
    SqlValue x;
    x.type = Type::kBlob;
    x.s = std::move(v);
    return x;
  }

  // Conversions tolerate PostgreSQL's text results (every cell arrives as text there).
  int64_t AsInt() const;
  double AsDouble() const;
  const std::string& AsText() const { return s; }
  std::string AsBlob() const;  // decodes PostgreSQL's "\x..." bytea text form
};

using SqlRow = std::vector<SqlValue>;
using SqlRows = std::vector<SqlRow>;

class SqlConn {
 public:
  virtual ~SqlConn() = default;
  // Runs one statement. `rows` may be null when no result is wanted.
  virtual StoreStatus Exec(const std::string& sql, const std::vector<SqlValue>& params,
                           SqlRows* rows) = 0;
  StoreStatus Exec(const std::string& sql) { return Exec(sql, {}, nullptr); }
  // Runs several ';'-separated statements without parameters (migrations).
  virtual StoreStatus ExecScript(const std::string& sql) = 0;
  // True after an error that leaves the connection unusable; the owner reopens it.
  virtual bool broken() const = 0;
};

// SQLite file connection with WAL, synchronous=FULL and busy_timeout (limits.lock_timeout_ms).
StoreStatus OpenSqliteConn(const std::string& path, const StoreLimits& limits,
                           std::unique_ptr<SqlConn>* out);
// A SQLite file opened read-only (mode=ro): for verifying a database without writing to it.
StoreStatus OpenSqliteReadOnly(const std::string& path, std::unique_ptr<SqlConn>* out);
// PostgreSQL connection (libpq URL or key=value string). The session gets statement_timeout,
// lock_timeout and idle_in_transaction_session_timeout from `limits`; TCP keepalives and
// connect_timeout are added to the connection string unless it names them itself.
StoreStatus OpenPostgresConn(const std::string& url, const StoreLimits& limits,
                             std::unique_ptr<SqlConn>* out);
// `url` with libpq's connect_timeout and keepalive parameters added (those it lacks).
std::string PostgresUrlWithLimits(const std::string& url, const StoreLimits& limits);

enum class Dialect { kSqlite, kPostgres };

// Where a store's connections go. Every connection of a store (committer, readers, SQLite
// checkpointer, verification) is opened by Connect().
struct Database {
  Dialect dialect = Dialect::kSqlite;
  std::string target;  // SQLite file path, or PostgreSQL URL
  StoreLimits limits;

  StoreStatus Connect(std::unique_ptr<SqlConn>* out) const {
    return dialect == Dialect::kSqlite ? OpenSqliteConn(target, limits, out)
                                       : OpenPostgresConn(target, limits, out);
  }
};

}  // namespace storage
}  // namespace fetal
