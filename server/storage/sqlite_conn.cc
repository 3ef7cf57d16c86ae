// SqlConn over one sqlite3 handle: prepared statements cached by text, errors mapped to
// StoreStatus codes (busy/full/io -> unavailable, so the HTTP layer answers 503).
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>

#include <cstring>
#include <string>
#include <unordered_map>

#include "storage/sql.h"

namespace fetal {
namespace storage {
namespace {

StoreStatus MapSqliteError(int rc, sqlite3* db, const std::string& what) {
  std::string msg = "sqlite: " + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  // Say what to fix: the operating system's reason when SQLite kept it, else the failed step.
  int sys = db ? sqlite3_system_errno(db) : 0;
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  if (sys != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL ||
                   (rc & 0xff) == SQLITE_CANTOPEN)) {
    msg += std::string(" (") + strerror(sys) + ")";
  } else if (ext == SQLITE_IOERR_WRITE || ext == SQLITE_IOERR_FSYNC ||
             ext == SQLITE_IOERR_TRUNCATE) {
    msg +=
        " (writing the database file or its WAL failed: disk full, file size limit, or a "
        "read-only or failing disk)";
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL: return StoreStatus::Unavailable(msg);
    case SQLITE_CONSTRAINT: return StoreStatus::Conflict(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StoreStatus::Corruption(msg);
    default: return StoreStatus::Internal(msg);
  }
}

class SqliteConn : public SqlConn {
 public:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  ~SqliteConn() override {
    for (auto& entry : statements_) sqlite3_finalize(entry.second);
    sqlite3_close(db_);
  }

  StoreStatus Exec(const std::string& sql, const std::vector<SqlValue>& params,
                   SqlRows* rows) override {
    sqlite3_stmt* stmt = nullptr;
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
      stmt = it->second;
    } else {
      int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return MapSqliteError(rc, db_, "prepare \"" + sql + "\"");
      statements_.emplace(sql, stmt);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      std::string name = "$" + std::to_string(i + 1);
      int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) continue;  // the statement does not use this parameter
      const SqlValue& v = params[i];
      int rc = SQLITE_OK;
      switch (v.type) {
        case SqlValue::Type::kNull: rc = sqlite3_bind_null(stmt, index); break;
        case SqlValue::Type::kInt: rc = sqlite3_bind_int64(stmt, index, v.i); break;
        case SqlValue::Type::kDouble: rc = sqlite3_bind_double(stmt, index, v.d); break;
        case SqlValue::Type::kText:
          rc = sqlite3_bind_text(stmt, index, v.s.data(), static_cast<int>(v.s.size()),
                                 SQLITE_STATIC);
          break;
        case SqlValue::Type::kBlob:
          rc = sqlite3_bind_blob(stmt, index, v.s.data(), static_cast<int>(v.s.size()),
                                 SQLITE_STATIC);
          break;
      }
      if (rc != SQLITE_OK) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return MapSqliteError(rc, db_, "bind");
      }
    }
    StoreStatus status;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        status = MapSqliteError(rc, db_, "step");
        break;
      }
      if (!rows) continue;
      int n = sqlite3_column_count(stmt);
      SqlRow row(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER: row[c] = SqlValue::Int(sqlite3_column_int64(stmt, c)); break;
          case SQLITE_FLOAT: row[c] = SqlValue::Double(sqlite3_column_double(stmt, c)); break;
          case SQLITE_TEXT:
            row[c] = SqlValue::Text(
                std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)),
                            sqlite3_column_bytes(stmt, c)));
            break;
          case SQLITE_BLOB: {
            const void* p = sqlite3_column_blob(stmt, c);
            int size = sqlite3_column_bytes(stmt, c);
            row[c] = SqlValue::Blob(p ? std::string(static_cast<const char*>(p), size) : "");
            break;
          }
          default: break;  // NULL
        }
      }
      rows->push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return status;
  }

  StoreStatus ExecScript(const std::string& sql) override {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) return MapSqliteError(rc, db_, "migration");
    return StoreStatus::Ok();
  }

  // SQLite handles stay usable after errors; a failing disk shows up on the next statement.
  bool broken() const override { return false; }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

StoreStatus OpenSqliteConn(const std::string& path, const StoreLimits& limits,
                           std::unique_ptr<SqlConn>* out) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time.
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    StoreStatus s = MapSqliteError(rc, db, "open " + path);
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, limits.lock_timeout_ms);
  auto conn = std::make_unique<SqliteConn>(db);
  // WAL: readers never block the committer; FULL: each commit is fsynced before it returns.
  StoreStatus s = conn->ExecScript(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;");
  if (!s.ok()) return s;
  *out = std::move(conn);
  return StoreStatus::Ok();
}

StoreStatus OpenSqliteReadOnly(const std::string& path, std::unique_ptr<SqlConn>* out) {
  // A file without a WAL beside it (a backup, a stopped server's database) is opened immutable,
  // so nothing is created next to it; a live one read-only, which reads its WAL too.
  struct stat wal;
  const bool live = stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      uri += hex;
    } else {
      uri += c;
    }
  }
  uri += live ? "?mode=ro" : "?mode=ro&immutable=1";
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &db,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    StoreStatus s = MapSqliteError(rc, db, "open " + path + " read-only");
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, StoreLimits().lock_timeout_ms);
  *out = std::make_unique<SqliteConn>(db);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
