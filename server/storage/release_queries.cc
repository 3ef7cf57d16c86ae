// SqlStore: release manifests and staged rollouts (store.h "release manifests and staged
// rollouts"). Every upload and every rollout decision is audited in its own transaction.
#include "storage/audit_chain.h"
#include "storage/release_tables.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/sql_store.h"

namespace fetal {
namespace storage {
namespace {

ReleaseRecord RowToRelease(const SqlRow& r) {
  ReleaseRecord m;
  m.sequence = r[0].AsInt();
  m.kind = r[1].AsText();
  m.site = r[2].AsText();
  m.manifest = r[3].AsText();
  m.signature = r[4].AsText();
  m.steps = static_cast<int>(r[5].AsInt());
  m.uploaded_ms = r[6].AsInt();
  m.uploaded_by = r[7].AsText();
  m.published_ms = r[8].AsInt();
  return m;
}

RolloutRecord RowToRollout(const SqlRow& r) {
  RolloutRecord o;
  o.sequence = r[0].AsInt();
  o.state = r[1].AsText();
  o.step = static_cast<int>(r[2].AsInt());
  o.steps = static_cast<int>(r[3].AsInt());
  o.step_started_ms = r[4].AsInt();
  o.started_ms = r[5].AsInt();
  o.started_by = r[6].AsText();
  o.ended_ms = r[7].AsInt();
  return o;
}

const char* ActionName(RolloutAction action) {
  switch (action) {
    case RolloutAction::kStart: return "start";
    case RolloutAction::kStep: return "step";
    case RolloutAction::kHalt: return "halt";
    case RolloutAction::kPromote: return "promote";
  }
  return "start";
}

StoreStatus ReadRollout(WriteTxn& txn, int64_t sequence, RolloutRecord* out) {
  SqlRows rows;
  StoreStatus s =
      txn.Exec(std::string("SELECT ") + kRolloutColumns + " FROM rollouts WHERE sequence = $1",
               {SqlValue::Int(sequence)}, &rows);
  if (!s.ok()) return s;
  if (rows.empty()) {
    return StoreStatus::NotFound("no rollout was started at sequence " + std::to_string(sequence));
  }
  *out = RowToRollout(rows[0]);
  return StoreStatus::Ok();
}

StoreStatus Publish(WriteTxn& txn, int64_t sequence, const char* kind) {
  return txn
      .Exec("UPDATE release_manifests SET published_ms = $1 WHERE sequence = $2 AND kind = $3",
            {SqlValue::Int(txn.now_ms), SqlValue::Int(sequence), SqlValue::Text(kind)}, nullptr);
}

// kStart: the uploaded rollout, not started before, no rollout running, nothing newer published.
StoreStatus StartRollout(WriteTxn& txn, int64_t sequence, const Actor& by, RolloutRecord* out) {
  SqlRows rows;
  StoreStatus s =
      txn.Exec("SELECT steps FROM release_manifests WHERE sequence = $1 AND kind = 'rollout'",
               {SqlValue::Int(sequence)}, &rows);
  if (!s.ok()) return s;
  if (rows.empty()) {
    return StoreStatus::NotFound("no rollout manifest was uploaded at sequence " +
                                 std::to_string(sequence));
  }
  const int steps = static_cast<int>(rows[0][0].AsInt());
  SqlRows running;
  s = txn.Exec("SELECT sequence FROM rollouts WHERE state = 'running' OR sequence = $1",
               {SqlValue::Int(sequence)}, &running);
  if (!s.ok()) return s;
  if (!running.empty()) {
    const int64_t other = running[0][0].AsInt();
    return StoreStatus::Conflict(other == sequence
                                     ? "the rollout at sequence " + std::to_string(sequence) +
                                           " was started before"
                                     : "the rollout at sequence " + std::to_string(other) +
                                           " is running: halt or promote it first",
                                 "sequence");
  }
  SqlRows newest;
  s = txn.Exec("SELECT MAX(sequence) FROM release_manifests WHERE published_ms > 0", {}, &newest);
  if (!s.ok()) return s;
  if (!newest.empty() && newest[0][0].type != SqlValue::Type::kNull &&
      newest[0][0].AsInt() >= sequence) {
    return StoreStatus::Conflict("sequence " + newest[0][0].AsText() +
                                     " is published already; browsers would refuse " +
                                     std::to_string(sequence),
                                 "sequence");
  }
  s = Publish(txn, sequence, "rollout");
  if (!s.ok()) return s;
  s = txn.Exec(std::string("INSERT INTO rollouts (") + kRolloutColumns +
                   ") VALUES ($1, 'running', 0, $2, $3, $3, $4, 0)",
               {SqlValue::Int(sequence), SqlValue::Int(steps), SqlValue::Int(txn.now_ms),
                SqlValue::Text(by.name)},
               nullptr);
  if (!s.ok()) return s;
  return ReadRollout(txn, sequence, out);
}

// kStep, kHalt, kPromote on a running rollout.
StoreStatus MoveRollout(WriteTxn& txn, int64_t sequence, RolloutAction action, int from_step) {
  RolloutRecord r;
  StoreStatus s = ReadRollout(txn, sequence, &r);
  if (!s.ok()) return s;
  if (r.state != "running") {
    return StoreStatus::Conflict("the rollout at sequence " + std::to_string(sequence) + " is " +
                                     r.state + "; it takes no further decision",
                                 "sequence");
  }
  if (from_step >= 0 && r.step != from_step) {
    return StoreStatus::Conflict("the rollout moved from step " + std::to_string(from_step + 1) +
                                     " before this decision",
                                 "sequence");
  }
  const bool last = r.step + 1 >= r.steps;
  if (action == RolloutAction::kStep) {
    if (last) {
      return StoreStatus::Conflict("the rollout is at its last step: promote or halt it",
                                   "sequence");
    }
    return txn.Exec("UPDATE rollouts SET step = step + 1, step_started_ms = $1 WHERE sequence = $2",
                    {SqlValue::Int(txn.now_ms), SqlValue::Int(sequence)}, nullptr);
  }
  if (action == RolloutAction::kPromote && !last) {
    return StoreStatus::Conflict("a rollout is promoted from its last step only; it is at step " +
                                     std::to_string(r.step + 1) + " of " + std::to_string(r.steps),
                                 "sequence");
  }
  const bool halt = action == RolloutAction::kHalt;
  s = Publish(txn, sequence + 1, halt ? "revert" : "promote");
  if (!s.ok()) return s;
  return txn.Exec("UPDATE rollouts SET state = $1, ended_ms = $2 WHERE sequence = $3",
                  {SqlValue::Text(halt ? "halted" : "promoted"), SqlValue::Int(txn.now_ms),
                   SqlValue::Int(sequence)},
                  nullptr);
}

}  // namespace

StoreStatus SqlStore::PutReleaseSet(const std::vector<ReleaseRecord>& set, const Actor& by) {
  if (set.size() != 3 || set[0].kind != "rollout") {
    return StoreStatus::InvalidArgument("a release set is a rollout and its two endings",
                                        "manifests");
  }
  return committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        SqlRows rows;
        StoreStatus st =
            txn.Exec("SELECT MAX(sequence), MIN(site) FROM release_manifests", {}, &rows);
        if (!st.ok()) return st;
        if (!rows.empty() && rows[0][0].type != SqlValue::Type::kNull) {
          if (rows[0][0].AsInt() >= set[0].sequence) {
            return StoreStatus::Conflict("sequence " + std::to_string(set[0].sequence) +
                                             " is not above " + rows[0][0].AsText() +
                                             ", the highest stored: sign the set with a higher one",
                                         "sequence");
          }
          if (rows[0][1].AsText() != set[0].site) {
            return StoreStatus::Conflict("this server's manifests are for site \"" +
                                             rows[0][1].AsText() + "\"",
                                         "site");
          }
        }
        for (const ReleaseRecord& m : set) {
          st =
              txn.Exec(std::string("INSERT INTO release_manifests (") + kReleaseColumns +
                           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
                       {SqlValue::Int(m.sequence), SqlValue::Text(m.kind), SqlValue::Text(m.site),
                        SqlValue::Text(m.manifest), SqlValue::Text(m.signature),
                        SqlValue::Int(m.steps), SqlValue::Int(txn.now_ms), SqlValue::Text(by.name)},
                       nullptr);
          if (!st.ok()) return st;
        }
        return AppendEvent(txn,
                           AuditEntry{by, "release.upload",
                                      "release/" + std::to_string(set[0].sequence), "ok",
                                      "site=" + set[0].site},
                           nullptr);
      },
      Isolation::kSavepoint);
}

StoreStatus SqlStore::ListReleases(std::vector<ReleaseRecord>* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kReleaseColumns +
                       " FROM release_manifests ORDER BY sequence, kind",
                   {}, &rows);
  });
  if (!s.ok()) return s;
  out->clear();
  for (const auto& r : rows) out->push_back(RowToRelease(r));
  return StoreStatus::Ok();
}

StoreStatus SqlStore::GetPublishedRelease(ReleaseRecord* manifest, RolloutRecord* rollout) {
  SqlRows rows, state;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    StoreStatus st = c->Exec(std::string("SELECT ") + kReleaseColumns +
                                 " FROM release_manifests WHERE published_ms > 0 "
                                 "ORDER BY sequence DESC, published_ms DESC LIMIT 1",
                             {}, &rows);
    if (!st.ok() || rows.empty()) return st;
    const int64_t started =
        rows[0][1].AsText() == "rollout" ? rows[0][0].AsInt() : rows[0][0].AsInt() - 1;
    return c->Exec(std::string("SELECT ") + kRolloutColumns + " FROM rollouts WHERE sequence = $1",
                   {SqlValue::Int(started)}, &state);
  });
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::NotFound("no release manifest is published");
  if (state.empty()) {
    return StoreStatus::Corruption("published manifest " + rows[0][0].AsText() +
                                   " has no rollout record");
  }
  *manifest = RowToRelease(rows[0]);
  *rollout = RowToRollout(state[0]);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::GetRollout(int64_t sequence, RolloutRecord* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kRolloutColumns + " FROM rollouts WHERE sequence = $1",
                   {SqlValue::Int(sequence)}, &rows);
  });
  if (!s.ok()) return s;
  if (rows.empty()) {
    return StoreStatus::NotFound("no rollout was started at sequence " + std::to_string(sequence));
  }
  *out = RowToRollout(rows[0]);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::ListRolloutDecisions(std::vector<AuditEvent>* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kAuditColumns + " FROM audit WHERE " +
                       kRolloutDecisionFilter + " ORDER BY seq",
                   {}, &rows);
  });
  if (!s.ok()) return s;
  RowsToAudit(rows, out);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::ChangeRollout(int64_t sequence, RolloutAction action, int from_step,
                                    const Actor& by, const RolloutChange& change,
                                    RolloutRecord* out) {
  RolloutRecord result;
  StoreStatus s = committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        StoreStatus st = action == RolloutAction::kStart
                             ? StartRollout(txn, sequence, by, &result)
                             : MoveRollout(txn, sequence, action, from_step);
        if (st.ok() && action != RolloutAction::kStart) st = ReadRollout(txn, sequence, &result);
        if (!st.ok()) return st;
        st = AppendEvent(txn,
                         AuditEntry{by, std::string("release.rollout.") + ActionName(action),
                                    "release/" + std::to_string(sequence), change.outcome,
                                    change.evidence},
                         nullptr);
        if (!st.ok() || action != RolloutAction::kPromote || change.activate_version == 0) {
          return st;
        }
        // Browsers that follow /models/active rather than manifests get the promoted version at
        // the same moment as those that follow the promote manifest.
        ActivationNote note;
        note.details = "{\"promoted_by\":\"release/" + std::to_string(sequence) + "\"}";
        return ActivateInTxn(txn, change.activate_version, by, note);
      },
      Isolation::kSavepoint);
  if (s.ok()) *out = result;
  return s;
}

}  // namespace storage
}  // namespace fetal
