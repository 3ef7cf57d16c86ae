// SqlStore: the one Store implementation, shared by SQLite and PostgreSQL. Internal to
// fetal_storage; Store::Open (store.cc) creates it.
//
// Backend differences are confined to the DDL (schema.cc), how a write transaction starts and
// takes the chain lock (group_commit.cc, audit_chain.cc), the PostgreSQL exam insert
// (exam_queries.cc) and sql.h's connections. Reads go through the ReaderPool, writes through the
// GroupCommitter. The methods are defined by resource: token_queries.cc, exam_queries.cc,
// audit_queries.cc, model_queries.cc, outcome_queries.cc, day_stats_queries.cc,
// shadow_queries.cc; lifecycle, Ping and
// Stats in sql_store.cc.
//
// Thread-safety and lifetimes: as Store (store.h).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/group_commit.h"
#include "storage/reader_pool.h"
#include "storage/sql.h"
#include "storage/store.h"
#include "storage/wal_checkpointer.h"

namespace fetal {
namespace storage {

class SqlStore : public Store {
 public:
  SqlStore(Database database, const StoreOptions& options);
  ~SqlStore() override;

  // Connects, migrates and starts the committer (and on SQLite the WAL checkpointer).
  StoreStatus Init();

  const char* backend() const override;
  StoreStatus Ping() override;

  StoreStatus CreateToken(const std::string& name, const std::string& role,
                          const std::string& token_sha256, const Actor& by,
                          TokenRecord* out) override;
  StoreStatus FindTokenByHash(const std::string& token_sha256, TokenRecord* out) override;
  StoreStatus ListTokens(std::vector<TokenRecord>* out) override;
  StoreStatus RevokeToken(int64_t id, const Actor& by) override;

  StoreStatus SubmitExam(const ExamInput& exam, const Actor& by, SubmitResult* out) override;
  StoreStatus SubmitExamBatch(const std::vector<ExamInput>& exams, const Actor& by,
                              std::vector<SubmitResult>* out) override;
  StoreStatus GetExam(int64_t id, ExamRecord* out) override;
  StoreStatus ListExams(const ExamFilter& filter, const std::string& cursor, int limit,
                        ExamPage* out) override;

  StoreStatus RecordOutcome(int64_t exam_id, const OutcomeInput& outcome, const Actor& by,
                            OutcomeResult* out) override;
  StoreStatus GetLatestOutcome(int64_t exam_id, std::optional<OutcomeRecord>* out) override;
  StoreStatus ListOutcomes(int64_t exam_id, std::vector<OutcomeRecord>* out) override;
  StoreStatus QueryDayStats(const DayStatsFilter& filter, std::vector<DayStats>* out) override;

  StoreStatus AppendAudit(const AuditEntry& entry, AuditEvent* out) override;
  StoreStatus ListAudit(int64_t after_seq, int limit, std::vector<AuditEvent>* out) override;
  StoreStatus GetAudit(int64_t seq, AuditEvent* out) override;
  using Store::VerifyAudit;
  StoreStatus VerifyAudit(const VerifyOptions& options, AuditVerifyResult* result) override;
  StoreStatus Checkpoint(AuditCheckpoint* out) override;
  StoreStatus PutCheckpoint(const SignedCheckpoint& checkpoint, const Actor& by,
                            SignedCheckpoint* out) override;
  StoreStatus ListCheckpoints(int64_t after_id, int limit,
                              std::vector<SignedCheckpoint>* out) override;

  StoreStatus PutModel(const ModelInput& model, const Actor& by, ModelRecord* out) override;
  StoreStatus ListModels(std::vector<ModelRecord>* out) override;
  StoreStatus GetModel(int64_t version, ModelRecord* out) override;
  StoreStatus GetActiveModel(ModelRecord* out) override;
  using Store::ActivateModel;
  StoreStatus ActivateModel(int64_t version, const Actor& by, const ActivationNote& note) override;

  StoreStatus StartShadow(int64_t version, const Actor& by) override;
  StoreStatus StopShadow(int64_t version, const Actor& by) override;
  StoreStatus ListShadows(std::vector<ShadowModel>* out) override;
  StoreStatus PutShadowResults(const std::vector<ShadowResult>& results, int64_t* stored) override;
  StoreStatus ListShadowPairs(int64_t version, int64_t from_ms, int64_t to_ms,
                              int64_t after_exam_id, int limit,
                              std::vector<ShadowPair>* out) override;
  StoreStatus PutReleaseSet(const std::vector<ReleaseRecord>& set, const Actor& by) override;
  StoreStatus ListReleases(std::vector<ReleaseRecord>* out) override;
  StoreStatus GetPublishedRelease(ReleaseRecord* manifest, RolloutRecord* rollout) override;
  StoreStatus GetRollout(int64_t sequence, RolloutRecord* out) override;
  StoreStatus ListRolloutDecisions(std::vector<AuditEvent>* out) override;
  StoreStatus ChangeRollout(int64_t sequence, RolloutAction action, int from_step, const Actor& by,
                            const RolloutChange& change, RolloutRecord* out) override;

  StoreStatus Stats(StoreStats* out) override;
  WriteHealth CheckWrites(int wait_ms) override;

 private:
  struct PreparedExam;  // exam_queries.cc

  // One exam of a submission inside the group's transaction: insert (or find the replay or
  // conflict) and append its exam.submit event.
  StoreStatus SubmitInTxn(WriteTxn& txn, const PreparedExam& prepared, const Actor& by,
                          const std::string& field_prefix, SubmitResult* out);
  StoreStatus InsertExamAndEventPostgres(WriteTxn& txn, const PreparedExam& prepared,
                                         const Actor& by, ExamRecord* rec);
  StoreStatus AddExamToDayStats(WriteTxn& txn, const ExamRecord& rec);
  // NotFound unless the registry holds `version` (model_queries.cc).
  static StoreStatus CheckModelExists(WriteTxn& txn, int64_t version);
  // ActivateModel's work inside a transaction the caller runs (model_queries.cc).
  static StoreStatus ActivateInTxn(WriteTxn& txn, int64_t version, const Actor& by,
                                   const ActivationNote& note);
  StoreStatus FindReplay(WriteTxn& txn, const ExamInput& in, const Actor& by,
                         const std::string& field_prefix, SubmitResult* out);

  const Database database_;
  const StoreOptions options_;
  ReaderPool readers_;
  // One verification at a time, on a connection of its own (audit_queries.cc). A flag under a
  // mutex rather than std::timed_mutex, whose timed lock ThreadSanitizer cannot follow.
  std::mutex verify_mu_;
  std::condition_variable verify_done_;
  bool verifying_ = false;  // guarded by verify_mu_
  // Destroyed in reverse order: the committer drains first, then the checkpointer's final
  // checkpoint sees every write.
  std::unique_ptr<WalCheckpointer> checkpointer_;  // SQLite only
  std::unique_ptr<GroupCommitter> committer_;
};

}  // namespace storage
}  // namespace fetal
