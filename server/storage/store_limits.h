// StoreLimits: how long anything in the store may wait (its own header so that ServerConfig,
// which sets them from flags, does not pull in the whole Store interface).
#pragma once

namespace fetal {
namespace storage {

// How long anything in the store may wait. Every wait ends in kUnavailable (HTTP 503 with
// Retry-After) instead of hanging (docs/storage.md "Every wait is bounded").
struct StoreLimits {
  int read_wait_ms = 5000;     // for a free read connection
  int commit_wait_ms = 10000;  // for a write's group to commit
  // For the chain lock: SQLite's busy timeout (another process holding the write lock),
  // PostgreSQL's lock_timeout (another instance holding the advisory chain lock).
  int lock_timeout_ms = 5000;
  int statement_timeout_ms = 30000;            // PostgreSQL statement_timeout
  int idle_in_transaction_timeout_ms = 60000;  // PostgreSQL idle_in_transaction_session_timeout
  int connect_timeout_s = 5;                   // PostgreSQL connect_timeout
  int keepalive_idle_s =
      30;  // PostgreSQL TCP keepalives: idle, then probes every idle/3 s, 3 lost = dead
};

}  // namespace storage
}  // namespace fetal
