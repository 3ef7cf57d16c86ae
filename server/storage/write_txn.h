// WriteTxn: one group's write transaction as each of its operations sees it. Internal to
// fetal_storage.
//
// Thread-safety: used only on the committer thread (group_commit.h), one operation at a time.
// Lifetime: one group; `conn` belongs to the committer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/day_stats.h"
#include "storage/sql.h"

namespace fetal {
namespace storage {

// The audit chain's last event as this transaction sees it (seq 0 and 64 zeros when empty).
struct ChainHead {
  int64_t seq = 0;
  std::string hash;
};

struct WriteTxn {
  SqlConn* conn = nullptr;
  Dialect dialect = Dialect::kSqlite;
  int64_t now_ms = 0;  // the group's time: every row and event of the group carries it
  // Read under the chain lock when the group starts, advanced by every event appended; restored
  // when an operation's savepoint is rolled back.
  ChainHead head;
  bool statement_failed = false;  // a statement failed: the transaction state is no longer known

  // PostgreSQL: exam ids taken from the sequence once per group (exam_queries.cc).
  std::vector<int64_t> exam_ids;  // unused ids, descending (back() is the next one)
  int64_t exams_expected = 0;     // submissions still to come in this group (allocation hint)

  // The monitoring aggregate contributions of the group's operations so far, written just
  // before COMMIT, one read-modify-write per row (day_stats.h): a group of exams of one day
  // updates its row once, not once per exam. Restored with `head` when an operation's savepoint
  // is rolled back.
  PendingDayStats day_stats;

  // Runs one statement; a failure marks the transaction (statement_failed).
  StoreStatus Exec(const std::string& sql, const std::vector<SqlValue>& params, SqlRows* rows) {
    StoreStatus s = conn->Exec(sql, params, rows);
    if (!s.ok()) statement_failed = true;
    return s;
  }
};

}  // namespace storage
}  // namespace fetal
