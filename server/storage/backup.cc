#include "storage/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "storage/audit_verify.h"
#include "storage/sql.h"

namespace fetal {
namespace storage {
namespace {

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, Closer>;

StoreStatus Fail(sqlite3* db, const std::string& what) {
  return StoreStatus::Unavailable("backup: " + what + ": " +
                                  (db ? sqlite3_errmsg(db) : "out of memory"));
}

StoreStatus OpenDb(const std::string& path, int flags, int lock_timeout_ms, Db* out) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return Fail(raw, "cannot open " + path);
  sqlite3_busy_timeout(raw, lock_timeout_ms);
  *out = std::move(db);
  return StoreStatus::Ok();
}

// One integer (or the text of the first column) from a query.
StoreStatus QueryOne(sqlite3* db, const char* sql, int64_t* number, std::string* text) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return Fail(db, sql);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    if (number) *number = sqlite3_column_int64(stmt, 0);
    if (text) {
      const unsigned char* t = sqlite3_column_text(stmt, 0);
      *text = t ? reinterpret_cast<const char*>(t) : "";
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Fail(db, sql);
  return StoreStatus::Ok();
}

StoreStatus Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Fail(db, sql);
  return StoreStatus::Ok();
}

// fsync of a file, then of its directory (so the rename that follows is durable too).
bool SyncPath(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  bool ok = fsync(fd) == 0;
  close(fd);
  return ok;
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Copies in steps inside the read transaction the caller opened on `src`.
StoreStatus CopyPages(sqlite3* src, sqlite3* dst, const BackupOptions& options,
                      BackupReport* report) {
  sqlite3_backup* backup = sqlite3_backup_init(dst, "main", src, "main");
  if (backup == nullptr) return Fail(dst, "cannot start the backup");
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(backup, options.pages_per_step > 0 ? options.pages_per_step : -1);
    ++report->steps;
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    const int pause = rc == SQLITE_OK ? options.pause_ms : 5;
    if (pause > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause));
  }
  report->pages = sqlite3_backup_pagecount(backup);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return StoreStatus::Unavailable(std::string("backup: copying pages failed: ") +
                                    sqlite3_errstr(rc));
  }
  return StoreStatus::Ok();
}

}  // namespace

StoreStatus BackupSqlite(const std::string& source, const std::string& dest,
                         const BackupOptions& options, BackupReport* report) {
  *report = BackupReport();
  if (access(source.c_str(), F_OK) != 0) {
    return StoreStatus::NotFound("backup: there is no database at " + source);
  }
  Db src;
  StoreStatus s = OpenDb(source, SQLITE_OPEN_READWRITE, options.lock_timeout_ms, &src);
  if (!s.ok()) return s;
  // The read transaction fixes the snapshot for every step; in WAL mode writers go on meanwhile.
  s = Exec(src.get(), "BEGIN");
  if (!s.ok()) return s;
  s = QueryOne(src.get(), "SELECT COUNT(*) FROM exams", &report->exams, nullptr);
  if (s.ok())
    s = QueryOne(src.get(), "SELECT COALESCE(MAX(seq), 0) FROM audit", &report->audit_length,
                 nullptr);
  if (!s.ok()) return s;

  const std::string partial = dest + ".partial";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::remove((partial + suffix).c_str());
  }
  {
    Db dst;
    s = OpenDb(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.lock_timeout_ms, &dst);
    if (s.ok()) s = CopyPages(src.get(), dst.get(), options, report);
    if (s.ok()) {
      std::string integrity;
      s = QueryOne(dst.get(), "PRAGMA integrity_check", nullptr, &integrity);
      if (s.ok() && integrity != "ok") {
        s = StoreStatus::Corruption("backup: the copy fails integrity_check: " + integrity);
      }
    }
  }
  Exec(src.get(), "ROLLBACK");
  src.reset();
  if (s.ok() && !SyncPath(partial)) {
    s = StoreStatus::Unavailable("backup: cannot fsync " + partial);
  }
  if (!s.ok()) {
    std::remove(partial.c_str());
    return s;
  }

  // The chain walk over the finished copy, as a restored server would see it.
  {
    StoreLimits limits;
    limits.lock_timeout_ms = options.lock_timeout_ms;
    std::unique_ptr<SqlConn> conn;
    s = OpenSqliteConn(partial, limits, &conn);
    if (s.ok()) s = VerifyChain(Dialect::kSqlite, conn.get(), {}, &report->verify);
  }
  for (const char* suffix : {"-wal", "-shm"}) std::remove((partial + suffix).c_str());
  if (!s.ok()) {
    std::remove(partial.c_str());
    return s;
  }
  report->head_hash = report->verify.head_hash;
  if (std::rename(partial.c_str(), dest.c_str()) != 0 || !SyncPath(DirectoryOf(dest))) {
    std::remove(partial.c_str());
    return StoreStatus::Unavailable("backup: cannot rename the copy to " + dest);
  }
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
