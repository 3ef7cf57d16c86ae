// ReaderPool: the connections reads run on, apart from the committer's write connection, so a
// read never waits for a commit (SQLite in WAL mode; PostgreSQL MVCC).
//
// Thread-safety: Run() may be called from any number of threads; at most `size` run at once,
// each on a connection no other thread is using, the rest wait (at most `wait_ms`).
// Lifetime: `database` must outlive the pool; no thread may be inside Run() when it is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/sql.h"

namespace fetal {
namespace storage {

class ReaderPool {
 public:
  ReaderPool(const Database* database, int size, int wait_ms);

  // Runs `fn` on a pooled connection (opened on first use). A connection the database dropped
  // is replaced and `fn` runs once more on the new one: reads are safe to repeat. Unavailable,
  // without running `fn`, when no connection became free within wait_ms.
  StoreStatus Run(const std::function<StoreStatus(SqlConn*)>& fn);

 private:
  const Database* const database_;
  const int size_;
  const std::chrono::milliseconds wait_;
  std::mutex mu_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<SqlConn>> idle_;  // guarded by mu_
  int open_ = 0;                                // guarded by mu_: idle + in use
};

}  // namespace storage
}  // namespace fetal
