#include "storage/group_commit.h"

#include <algorithm>
#include <future>

#include "text/time_text.h"

namespace fetal {
namespace storage {

struct GroupCommitter::Op {
  WriteFn fn;
  Isolation isolation = Isolation::kSavepoint;
  int64_t exams = 0;
  std::promise<StoreStatus> done;
};

GroupCommitter::GroupCommitter(const Database* database, std::unique_ptr<SqlConn> conn,
                               int max_group_size, WriteFn start)
    : database_(database),
      max_group_size_(static_cast<size_t>(std::max(1, max_group_size))),
      start_(std::move(start)),
      conn_(std::move(conn)),
      committer_([this] { CommitterLoop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queued_.notify_all();
  committer_.join();
}

StoreStatus GroupCommitter::Run(WriteFn fn, Isolation isolation, int64_t exams) {
  Op op;
  op.fn = std::move(fn);
  op.isolation = isolation;
  op.exams = exams;
  std::future<StoreStatus> done = op.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return StoreStatus::Unavailable("the store is closing");
    queue_.push_back(&op);
  }
  queued_.notify_one();
  return done.get();
}

void GroupCommitter::CommitterLoop() {
  std::vector<Op*> group;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      size_t n = std::min(queue_.size(), max_group_size_);
      group.assign(queue_.begin(), queue_.begin() + n);
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    CommitGroup(group);
  }
}

namespace {

template <typename Op>
void FailAll(const std::vector<Op*>& group, const StoreStatus& s) {
  for (Op* op : group) op->done.set_value(s);
}

}  // namespace

void GroupCommitter::CommitGroup(std::vector<Op*> group) {
  // Each pass commits the group, or drops one operation whose statement failed and tries again.
  while (!group.empty()) {
    size_t failed = 0;
    StoreStatus failure;
    if (TryCommitGroup(group, &failed, &failure)) return;
    group[failed]->done.set_value(failure);
    group.erase(group.begin() + failed);
    if (failure.code() == StoreStatus::Code::kUnavailable) {
      FailAll(group, failure);  // the database is not there: the others would fail the same way
      return;
    }
  }
}

// True when every operation of the group was answered. False when an operation without its own
// savepoint hit a statement error: everything was rolled back, nobody was answered, and
// *failed / *failure say which operation and why.
bool GroupCommitter::TryCommitGroup(const std::vector<Op*>& group, size_t* failed,
                                    StoreStatus* failure) {
  if (!conn_ || conn_->broken()) {
    conn_.reset();
    StoreStatus s = database_->Connect(&conn_);
    if (!s.ok()) {
      conn_.reset();
      FailAll(group, s);
      return true;
    }
  }
  const char* begin = database_->dialect == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN";
  StoreStatus s = conn_->Exec(begin);
  if (!s.ok() && conn_->broken()) {
    // Dropped while idle; nothing of this group has run yet, so reconnect and start once more.
    conn_.reset();
    s = database_->Connect(&conn_);
    if (s.ok()) s = conn_->Exec(begin);
  }
  SqlConn* conn = conn_.get();
  WriteTxn txn;
  txn.conn = conn;
  txn.dialect = database_->dialect;
  txn.now_ms = text::NowMs();
  auto abort_group = [&](const StoreStatus& st) {
    if (conn) conn->Exec("ROLLBACK");
    FailAll(group, st);
    return true;
  };
  if (!s.ok()) return abort_group(s);
  s = start_(txn);
  if (!s.ok()) return abort_group(s);
  for (const Op* op : group) txn.exams_expected += op->exams;

  std::vector<StoreStatus> results(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    const bool savepoint = group[i]->isolation == Isolation::kSavepoint;
    if (savepoint) {
      s = conn->Exec("SAVEPOINT op");
      if (!s.ok()) return abort_group(s);
    }
    const ChainHead saved_head = txn.head;
    txn.statement_failed = false;
    results[i] = group[i]->fn(txn);
    if (!savepoint) {
      if (!results[i].ok() && txn.statement_failed) {
        conn->Exec("ROLLBACK");
        *failed = i;
        *failure = results[i];
        return false;
      }
      continue;
    }
    if (results[i].ok()) {
      s = conn->Exec("RELEASE SAVEPOINT op");
    } else {
      txn.head = saved_head;
      s = conn->Exec("ROLLBACK TO SAVEPOINT op");
      if (s.ok()) s = conn->Exec("RELEASE SAVEPOINT op");
    }
    if (!s.ok()) return abort_group(s);
  }
  s = conn->Exec("COMMIT");
  if (!s.ok()) {
    // Nothing of this group is acknowledged; clients retry with their idempotency keys.
    return abort_group(s);
  }
  commits_.fetch_add(1);
  committed_writes_.fetch_add(static_cast<int64_t>(group.size()));
  for (size_t i = 0; i < group.size(); ++i) group[i]->done.set_value(results[i]);
  return true;
}

}  // namespace storage
}  // namespace fetal
