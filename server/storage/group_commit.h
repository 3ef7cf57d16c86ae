// GroupCommitter: durable writes with one transaction (one fsync) per group of callers.
//
// A writer hands over its work as a function and blocks. One committer thread takes everything
// queued (up to max_group_size operations), runs BEGIN, the start hook (chain lock and head),
// every operation, COMMIT, and only then answers every caller. How an operation is kept from
// undoing the others is its Isolation. docs/storage.md "Group commit" explains the design.
//
// Every wait is bounded: a caller waits at most commit_wait for its group. When that passes it
// gives up on its operation: one not yet run is never run (nothing was changed), and one whose
// statements already ran may still commit (the caller says so; idempotent clients retry).
// The operation's closure is never called again once Run() has returned, so it may refer to
// the caller's stack.
//
// Thread-safety: Run() and CheckWrites() may be called from any number of threads. Operations
// run on the committer thread, one at a time, and must not call Run() themselves.
// Lifetime: the destructor commits and answers everything already queued, then stops the
// thread; no thread may be inside Run() when it starts. `database` must outlive the committer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/sql.h"
#include "storage/write_txn.h"

namespace fetal {
namespace storage {

enum class Isolation {
  // Runs inside its own SAVEPOINT; any failure rolls back just this operation.
  kSavepoint,
  // The operation makes all its checks before its first write, so a logical failure (conflict,
  // not found) has written nothing. Saves two statements (round trips on PostgreSQL) per
  // operation on the hot path (single submissions, audit appends). If one of its statements
  // fails, the group is rolled back and run again without it.
  kChecksBeforeWrites,
};

using WriteFn = std::function<StoreStatus(WriteTxn&)>;

class GroupCommitter {
 public:
  // `conn` is the write connection (schema already migrated). `start` runs right after BEGIN of
  // every group, before its operations; a failure fails the whole group.
  GroupCommitter(const Database* database, std::unique_ptr<SqlConn> conn, int max_group_size,
                 std::chrono::milliseconds commit_wait, WriteFn start);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `fn` and waits until its group has committed (or failed). `exams` is how many exams
  // `fn` may insert (sizes the PostgreSQL id allocation). The result is fn's, or the error that
  // failed the group; OK means durable.
  StoreStatus Run(WriteFn fn, Isolation isolation, int64_t exams = 0);

  // Queues an empty operation (BEGIN, the start hook, COMMIT) unless one is already pending, and
  // waits at most `wait` for it: OK when it committed.
  StoreStatus CheckWrites(std::chrono::milliseconds wait);

  // Since construction: transactions committed, and the operations they carried.
  int64_t commits() const { return commits_.load(); }
  int64_t committed_writes() const { return committed_writes_.load(); }

 private:
  struct Op;
  using OpPtr = std::shared_ptr<Op>;  // shared: a caller that gave up no longer waits for it
  void CommitterLoop();
  void CommitGroup(std::vector<OpPtr> group);
  bool TryCommitGroup(const std::vector<OpPtr>& group, size_t* failed, StoreStatus* failure);
  bool Enqueue(const OpPtr& op);
  StoreStatus GiveUp(const OpPtr& op);

  const Database* const database_;
  const size_t max_group_size_;
  const std::chrono::milliseconds commit_wait_;
  const WriteFn start_;
  std::unique_ptr<SqlConn> conn_;  // committer thread only

  std::mutex mu_;
  std::condition_variable queued_;
  std::deque<OpPtr> queue_;                // guarded by mu_
  bool stopping_ = false;                  // guarded by mu_
  std::shared_future<StoreStatus> probe_;  // guarded by mu_: the pending CheckWrites attempt

  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> committed_writes_{0};
  std::thread committer_;  // last: started once everything above is initialized
};

}  // namespace storage
}  // namespace fetal
