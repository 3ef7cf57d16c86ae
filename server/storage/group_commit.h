// GroupCommitter: durable writes with one transaction (one fsync) per group of callers.
//
// A writer hands over its work as a function and blocks. One committer thread takes everything
// queued (up to max_group_size operations), runs BEGIN, the start hook (chain lock and head),
// every operation, COMMIT, and only then answers every caller. How an operation is kept from
// undoing the others is its Isolation. docs/storage.md "Group commit" explains the design.
//
// Thread-safety: Run() may be called from any number of threads. Operations run on the
// committer thread, one at a time, and must not call Run() themselves.
// Lifetime: the destructor commits and answers everything already queued, then stops the
// thread; no thread may be inside Run() when it starts. `database` must outlive the committer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
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
                 WriteFn start);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `fn` and waits until its group has committed (or failed). `exams` is how many exams
  // `fn` may insert (sizes the PostgreSQL id allocation). The result is fn's, or the error that
  // failed the group; OK means durable.
  StoreStatus Run(WriteFn fn, Isolation isolation, int64_t exams = 0);

  // Since construction: transactions committed, and the operations they carried.
  int64_t commits() const { return commits_.load(); }
  int64_t committed_writes() const { return committed_writes_.load(); }

 private:
  struct Op;
  void CommitterLoop();
  void CommitGroup(std::vector<Op*> group);
  bool TryCommitGroup(const std::vector<Op*>& group, size_t* failed, StoreStatus* failure);

  const Database* const database_;
  const size_t max_group_size_;
  const WriteFn start_;
  std::unique_ptr<SqlConn> conn_;  // committer thread only

  std::mutex mu_;
  std::condition_variable queued_;
  std::deque<Op*> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_

  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> committed_writes_{0};
  std::thread committer_;  // last: started once everything above is initialized
};

}  // namespace storage
}  // namespace fetal
