// WalCheckpointer (SQLite only): copies the write-ahead log into the database file every 200 ms
// on a connection of its own, with PASSIVE checkpoints that never block the committer or
// readers. Done inside a commit, a checkpoint's fsync would stall every writer of that group;
// the committer's connection therefore runs with wal_autocheckpoint=0.
//
// Thread-safety: owns one thread; no public method besides construction and destruction.
// Lifetime: the destructor stops the thread and runs a final TRUNCATE checkpoint (keeping the
// WAL short for the next open); destroy it after the committer. `database` must outlive it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "storage/sql.h"

namespace fetal {
namespace storage {

class WalCheckpointer {
 public:
  explicit WalCheckpointer(const Database* database);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  void Loop();

  const Database* const database_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // last: started once the fields above are initialized
};

}  // namespace storage
}  // namespace fetal
