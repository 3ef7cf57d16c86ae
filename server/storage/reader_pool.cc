#include "storage/reader_pool.h"

#include <algorithm>

namespace fetal {
namespace storage {

ReaderPool::ReaderPool(const Database* database, int size, int wait_ms)
    : database_(database), size_(std::max(1, size)), wait_(std::max(1, wait_ms)) {}

StoreStatus ReaderPool::Run(const std::function<StoreStatus(SqlConn*)>& fn) {
  std::unique_ptr<SqlConn> conn;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!released_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; })) {
      return StoreStatus::Unavailable("all " + std::to_string(size_) +
                                      " read connections stayed busy for " +
                                      std::to_string(wait_.count()) + " ms");
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  StoreStatus s;
  if (!conn) s = database_->Connect(&conn);
  if (s.ok()) s = fn(conn.get());
  if (!s.ok() && conn && conn->broken()) {
    // A pooled connection the server dropped while idle: reads are safe to run again once.
    conn.reset();
    s = database_->Connect(&conn);
    if (s.ok()) s = fn(conn.get());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn && !conn->broken()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;  // reopened on a later call
    }
  }
  released_.notify_one();
  return s;
}

}  // namespace storage
}  // namespace fetal
