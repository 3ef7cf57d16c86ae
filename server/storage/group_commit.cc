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
  // Held by the committer while fn runs, so a caller giving up waits for that run to end.
  std::mutex run_mu;
  bool abandoned = false;  // guarded by run_mu: the caller gave up; fn is not run again
  bool ran = false;        // guarded by run_mu: fn has run (its writes may be committed)
};

GroupCommitter::GroupCommitter(const Database* database, std::unique_ptr<SqlConn> conn,
                               int max_group_size, std::chrono::milliseconds commit_wait,
                               WriteFn start)
    : database_(database),
      max_group_size_(static_cast<size_t>(std::max(1, max_group_size))),
      commit_wait_(std::max(std::chrono::milliseconds(1), commit_wait)),
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

bool GroupCommitter::Enqueue(const OpPtr& op) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    queue_.push_back(op);
  }
  queued_.notify_one();
  return true;
}

StoreStatus GroupCommitter::Run(WriteFn fn, Isolation isolation, int64_t exams) {
  auto op = std::make_shared<Op>();
  op->fn = std::move(fn);
  op->isolation = isolation;
  op->exams = exams;
  std::future<StoreStatus> done = op->done.get_future();
  if (!Enqueue(op)) return StoreStatus::Unavailable("the store is closing");
  if (done.wait_for(commit_wait_) == std::future_status::ready) return done.get();
  StoreStatus gave_up = GiveUp(op);
  // It may have been answered while we gave up; then that answer is the true one.
  if (done.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return done.get();
  return gave_up;
}

StoreStatus GroupCommitter::GiveUp(const OpPtr& op) {
  const std::string waited = "the write waited " + std::to_string(commit_wait_.count()) +
                             " ms for its commit (the database is slow or another session "
                             "holds the write lock)";
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(queue_.begin(), queue_.end(), op);
    if (it != queue_.end()) {
      queue_.erase(it);
      return StoreStatus::Unavailable(waited + "; it was not started, nothing was changed");
    }
  }
  std::lock_guard<std::mutex> run(op->run_mu);  // waits while its statements run
  op->abandoned = true;
  if (!op->ran) {
    return StoreStatus::Unavailable(waited + "; it was not started, nothing was changed");
  }
  return StoreStatus::Unavailable(
      waited +
      "; its outcome is unknown (it may still commit): retry with the same "
      "idempotency key, which is safe");
}

StoreStatus GroupCommitter::CheckWrites(std::chrono::milliseconds wait) {
  std::shared_future<StoreStatus> attempt;
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return StoreStatus::Unavailable("the store is closing");
    if (!probe_.valid() || probe_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      auto op = std::make_shared<Op>();
      op->fn = [](WriteTxn&) { return StoreStatus::Ok(); };
      op->isolation = Isolation::kChecksBeforeWrites;
      probe_ = op->done.get_future().share();
      queue_.push_back(op);
      queued = true;
    }
    attempt = probe_;
  }
  if (queued) queued_.notify_one();
  if (attempt.wait_for(wait) != std::future_status::ready) {
    return StoreStatus::Unavailable("no commit completed within " + std::to_string(wait.count()) +
                                    " ms (the database is slow or another session holds the "
                                    "write lock)");
  }
  return attempt.get();
}

void GroupCommitter::CommitterLoop() {
  std::vector<OpPtr> group;
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

template <typename OpPtr>
void FailAll(const std::vector<OpPtr>& group, const StoreStatus& s) {
  for (const OpPtr& op : group) op->done.set_value(s);
}

}  // namespace

void GroupCommitter::CommitGroup(std::vector<OpPtr> group) {
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
bool GroupCommitter::TryCommitGroup(const std::vector<OpPtr>& group, size_t* failed,
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
  for (const OpPtr& op : group) txn.exams_expected += op->exams;

  std::vector<StoreStatus> results(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    std::unique_lock<std::mutex> run(group[i]->run_mu);
    if (group[i]->abandoned) {
      results[i] = StoreStatus::Unavailable("the caller gave up waiting");
      continue;  // nothing of it is written
    }
    group[i]->ran = true;
    const bool savepoint = group[i]->isolation == Isolation::kSavepoint;
    if (savepoint) {
      s = conn->Exec("SAVEPOINT op");
      if (!s.ok()) return abort_group(s);
    }
    const ChainHead saved_head = txn.head;
    PendingDayStats saved_day_stats;
    if (savepoint) saved_day_stats = txn.day_stats;
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
      txn.day_stats = std::move(saved_day_stats);
      s = conn->Exec("ROLLBACK TO SAVEPOINT op");
      if (s.ok()) s = conn->Exec("RELEASE SAVEPOINT op");
    }
    if (!s.ok()) return abort_group(s);
  }
  s = FlushDayStats(conn, &txn.day_stats);
  if (!s.ok()) return abort_group(s);
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
