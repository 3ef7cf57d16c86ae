#include "storage/sql_store.h"

#include "storage/audit_chain.h"
#include "storage/schema.h"

namespace fetal {
namespace storage {

SqlStore::SqlStore(Database database, const StoreOptions& options)
    : database_(std::move(database)),
      options_(options),
      readers_(&database_, options.read_connections, options.limits.read_wait_ms) {}

SqlStore::~SqlStore() = default;

StoreStatus SqlStore::Init() {
  std::unique_ptr<SqlConn> write_conn;
  StoreStatus s = database_.Connect(&write_conn);
  if (!s.ok()) return s;
  s = Migrate(database_.dialect, write_conn.get());
  if (!s.ok()) return s;
  if (database_.dialect == Dialect::kSqlite) {
    // The checkpointer copies the WAL into the database file instead of the commits.
    s = write_conn->ExecScript("PRAGMA wal_autocheckpoint=0");
    if (!s.ok()) return s;
    checkpointer_ = std::make_unique<WalCheckpointer>(&database_);
  }
  committer_ =
      std::make_unique<GroupCommitter>(&database_, std::move(write_conn), options_.max_group_size,
                                       std::chrono::milliseconds(options_.limits.commit_wait_ms),
                                       StartChain);
  return StoreStatus::Ok();
}

const char* SqlStore::backend() const {
  return database_.dialect == Dialect::kSqlite ? "sqlite" : "postgresql";
}

StoreStatus SqlStore::Ping() {
  return readers_.Run([&](SqlConn* c) { return c->Exec("SELECT 1"); });
}

StoreStatus SqlStore::Stats(StoreStats* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(
        "SELECT (SELECT COUNT(*) FROM exams), (SELECT COUNT(*) FROM exams WHERE agreement = 0), "
        "(SELECT COALESCE(MAX(seq), 0) FROM audit)",
        {}, &rows);
  });
  if (!s.ok()) return s;
  out->exams = rows.at(0).at(0).AsInt();
  out->mismatches = rows[0].at(1).AsInt();
  out->audit_length = rows[0].at(2).AsInt();
  out->commits = committer_->commits();
  out->committed_writes = committer_->committed_writes();
  return StoreStatus::Ok();
}

WriteHealth SqlStore::CheckWrites(int wait_ms) {
  StoreStatus s = committer_->CheckWrites(std::chrono::milliseconds(wait_ms));
  return WriteHealth{s.ok(), s.ok() ? std::string() : s.message()};
}

}  // namespace storage
}  // namespace fetal
