#include "storage/wal_checkpointer.h"

#include <chrono>
#include <memory>

namespace fetal {
namespace storage {

WalCheckpointer::WalCheckpointer(const Database* database)
    : database_(database), thread_([this] { Loop(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void WalCheckpointer::Loop() {
  std::unique_ptr<SqlConn> conn;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (stopping_) break;
    lock.unlock();
    if (!conn && !database_->Connect(&conn).ok()) conn.reset();
    if (conn) conn->ExecScript("PRAGMA wal_checkpoint(PASSIVE)");
    lock.lock();
  }
  lock.unlock();
  if (conn) conn->ExecScript("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace storage
}  // namespace fetal
