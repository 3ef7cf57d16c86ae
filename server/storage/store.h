// Store: the server's durable state (exams, audit chain, tokens, model registry) behind one
// interface with two backends, SQLite (default, embedded) and PostgreSQL (libpqxx, scale-out).
//
// Threading: every method may be called concurrently from any number of threads. Writes that
// must be durable (exam submissions, audit appends, token and model changes) are queued to one
// committer thread per store that runs all pending writes in ONE transaction, commits once, and
// only then acknowledges every caller. One write's failure never undoes the others in its group
// (batches, token and model changes run in their own SAVEPOINT; single submissions and audit
// appends check everything before writing, and a statement error reruns the group without them;
// see docs/storage.md). A method that returns OK for a write guarantees the write is durable.
//
// Errors: nothing throws across this interface. Every method returns a StoreStatus; database
// driver errors are caught inside and mapped (see StoreStatus::Code).
//
// Lifetimes: a Store is created by Store::Open and owned by the caller. Destroying it drains
// the committer (pending writes are committed and acknowledged) and closes the database; it
// must not be destroyed while another thread is still inside one of its methods. Output
// pointers must be non-null; they are only written on OK unless stated otherwise.
//
// Canonical forms (audit event hashing, exam content hash) are specified in docs/storage.md.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fetal/schema.h"
#include "storage/store_limits.h"

namespace fetal {
namespace storage {

class StoreStatus {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // caller input malformed (bad cursor, limit out of range, ...) -> 400/422
    kNotFound,         // no such exam / audit seq / model version / token        -> 404
    kConflict,         // idempotency key reused with another body, version exists -> 409
    kUnavailable,      // database unreachable, locked beyond busy timeout, disk full -> 503
    kCorruption,       // stored data fails a consistency check                    -> 500
    kInternal,         // anything else (a bug, an unexpected driver error)        -> 500
  };

  StoreStatus() = default;  // OK
  static StoreStatus Ok() { return StoreStatus(); }
  static StoreStatus InvalidArgument(std::string msg, std::string field = {}) {
    return StoreStatus(Code::kInvalidArgument, std::move(msg), std::move(field));
  }
  static StoreStatus NotFound(std::string msg) {
    return StoreStatus(Code::kNotFound, std::move(msg), {});
  }
  // `field` names the offending key, e.g. "client_exam_id" (or "exams[17].client_exam_id").
  static StoreStatus Conflict(std::string msg, std::string field = {}) {
    return StoreStatus(Code::kConflict, std::move(msg), std::move(field));
  }
  static StoreStatus Unavailable(std::string msg) {
    return StoreStatus(Code::kUnavailable, std::move(msg), {});
  }
  static StoreStatus Corruption(std::string msg) {
    return StoreStatus(Code::kCorruption, std::move(msg), {});
  }
  static StoreStatus Internal(std::string msg) {
    return StoreStatus(Code::kInternal, std::move(msg), {});
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& field() const { return field_; }
  std::string ToString() const;  // "conflict: client_exam_id \"a1\" was already used ..."

 private:
  StoreStatus(Code code, std::string msg, std::string field)
      : code_(code), message_(std::move(msg)), field_(std::move(field)) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

// Who performs an action; recorded in the audit event the action appends.
struct Actor {
  std::string name;        // token name, or "system" / "cli"
  std::string role;        // "clinician" | "auditor" | "admin" | "system"
  std::string request_id;  // HTTP request id, empty outside a request
  // The principal: the id of the token acting (0 for "system" / "cli"). Exams and their
  // idempotency keys belong to it; a token's name is only its label.
  int64_t principal_id = 0;
};

// ---------------------------------------------------------------------------------------------
// Exams

// Monitoring bins every feature into at most this many bins of the model's training reference.
inline constexpr int kReferenceBins = 10;

// What monitoring counts of an exam beyond its classes and probabilities, from the server's
// classification. Kept only in the per-day aggregates (docs/storage.md "Monitoring
// aggregates"), not in the exam row: a replay or a read never needs them.
struct ExamSignals {
  bool ood_checked = false;  // the model has an OOD reference, so ood_distance is set
  double ood_distance = 0;   // Mahalanobis distance, finite when ood_checked
  bool out_of_distribution = false;
  bool out_of_range = false;    // some feature outside the training min/max
  bool has_warnings = false;    // the validator warned about something
  bool figo_disagrees = false;  // the FIGO rule class differs from the server's class
  // Per feature, its bin (0..kReferenceBins-1) in the model's monitoring reference; -1 when the
  // model has no reference.
  std::array<int8_t, kNumFeatures> feature_bins = NoFeatureBins();

  static std::array<int8_t, kNumFeatures> NoFeatureBins() {
    std::array<int8_t, kNumFeatures> b;
    b.fill(-1);
    return b;
  }
};

// What the HTTP layer hands over after validating and re-evaluating an exam.
struct ExamInput {
  std::string client_exam_id;  // idempotency key, 1..128 bytes; unique per principal
  // Hex SHA-256 of the request body as the HTTP layer canonicalizes it. Same key + same hash is a
  // replay, same key + another hash is a conflict.
  std::string body_sha256;
  std::array<double, kNumFeatures> features{};  // schema order, finite
  int client_class = 0;                         // 0..kNumClasses-1
  std::array<double, kNumClasses> client_probabilities{};
  int64_t model_version = 0;  // the version the client states it used (>= 1)
  int server_class = 0;       // the server's native re-evaluation with that version
  std::array<double, kNumClasses> server_probabilities{};
  bool agreement = false;   // fetal::CompareResults: same class, max_abs_diff within tolerance
  double max_abs_diff = 0;  // max |p_server - p_client|
  // The conformal prediction set of the server's evaluation (bit c = class c; it holds
  // server_class); 0 when that model version carries no sets, and for exams stored before sets.
  unsigned server_set = 0;
  std::string patient_ref;       // optional, may be empty
  std::string note;              // optional, may be empty
  std::string client_timestamp;  // as sent by the client (validated by the HTTP layer)
  // The browser runtime's build id (the WebAssembly build), optional, 0..128 bytes of text.
  std::string runtime_build;
  ExamSignals signals;  // not stored in the exam row, not read back (default on reads)
};

// The canonical exam form (docs/storage.md) new rows are hashed with: version 3 covers the
// runtime build, version 2 the submitter's principal id; older rows keep their version.
inline constexpr int kExamContentVersion = 3;

struct ExamRecord {
  int64_t id = 0;  // server-assigned, > 0, increasing in submission order per database
  ExamInput input;
  std::string submitted_by;    // Actor::name of the submitter (its label at the time)
  int64_t received_ms = 0;     // server time at commit, ms since the Unix epoch (UTC)
  int64_t audit_seq = 0;       // the exam.submit audit event that covers this row
  std::string content_sha256;  // hex SHA-256 of the canonical exam (docs/storage.md)
  // Actor::principal_id of the submitter: the exam's owner. 0 for rows stored before
  // principals existed whose token could not be found when the database was migrated.
  int64_t submitted_by_id = 0;
  int content_version = kExamContentVersion;  // the canonical form covering this row: 1 to 3
};

struct SubmitResult {
  ExamRecord exam;
  bool replayed = false;  // true: this key+body was stored earlier; `exam` is the original
};

enum class Agreement { kMatch, kMismatch };

// All set fields must match (AND). Unset = no constraint.
struct ExamFilter {
  std::optional<int64_t> from_ms;   // received_ms >= from_ms
  std::optional<int64_t> to_ms;     // received_ms <  to_ms
  std::optional<int> client_class;  // the class the clinician was shown
  std::optional<int64_t> model_version;
  std::optional<Agreement> agreement;
  // The submitter's name (indexed: give it with submitted_by_id to page one principal's exams
  // quickly; every exam of a principal carries its token's name).
  std::optional<std::string> submitted_by;
  std::optional<int64_t> submitted_by_id;  // the submitter's principal (clinicians: their own)
};

struct ExamPage {
  std::vector<ExamRecord> exams;  // ascending id
  std::string next_cursor;        // empty when there is no further page
};

// ---------------------------------------------------------------------------------------------
// Outcomes: what became of an exam, recorded later by its clinician. Every correction is a new
// version; no version is ever changed.

struct OutcomeInput {
  int final_reading = 0;               // the clinician's final CTG reading, class 0..kNumClasses-1
  std::optional<int> apgar_5min;       // 0..10
  std::optional<double> umbilical_ph;  // 6.5..7.8
  std::optional<double> base_deficit;  // -5..30 mmol/L
  std::optional<bool> nicu_admission;
};

struct OutcomeRecord {
  int64_t exam_id = 0;
  int64_t version = 0;  // 1, 2, ... per exam
  OutcomeInput input;
  std::string recorded_by;  // Actor::name
  int64_t recorded_by_id = 0;
  int64_t recorded_ms = 0;
  int64_t audit_seq = 0;       // its exam.outcome event
  std::string content_sha256;  // hex SHA-256 of its canonical form (docs/storage.md)
};

struct OutcomeResult {
  OutcomeRecord outcome;
  bool replayed = false;  // the latest version already said exactly this; nothing was stored
};

// ---------------------------------------------------------------------------------------------
// Monitoring aggregates: per UTC day of the exam's client time, model version, submitter and
// runtime build, kept up to date in the transaction that stores each exam or outcome.

struct DayCounts {
  int64_t exams = 0;
  std::array<int64_t, kNumClasses> client_class{};
  std::array<int64_t, kNumClasses> server_class{};
  std::array<double, kNumClasses> probability_sum{};  // server, calibrated
  double confidence_sum = 0;                          // sum of the server's top probability
  double confidence_sq_sum = 0;                       // sum of its square
  // Per server class k, the sum of p_k over the exams the server put in class k.
  std::array<double, kNumClasses> confidence_by_class{};
  int64_t ood_checked = 0;
  int64_t ood = 0;
  double ood_distance_sum = 0;  // over ood_checked exams
  int64_t out_of_range = 0;
  int64_t with_warnings = 0;
  int64_t figo_disagree = 0;
  int64_t disagree = 0;  // client/server disagreement
  // Exams with an outcome (latest version): confusion[final reading][server class], and the
  // server's top probability in ten bins of width 0.1: exams, confidence sum, correct.
  int64_t outcomes = 0;
  std::array<std::array<int64_t, kNumClasses>, kNumClasses> confusion{};
  std::array<int64_t, 10> calibration_exams{};
  std::array<double, 10> calibration_confidence{};
  std::array<int64_t, 10> calibration_correct{};
  std::array<std::array<int64_t, kReferenceBins>, kNumFeatures> feature_bins{};

  void Add(const DayCounts& other);
};

// The day an exam is counted on: the UTC day of its client_time (days since 1970-01-01); the
// day of `fallback_ms` (its received_ms) when the text does not parse (exams the HTTP layer did
// not validate, e.g. from tests). Exports that must match the aggregates select exams by it.
int64_t ExamDay(const std::string& client_timestamp, int64_t fallback_ms);

struct DayStats {
  int64_t day = 0;  // days since 1970-01-01 (UTC) of the exams' client_time
  int64_t model_version = 0;
  std::string runtime_build;
  DayCounts counts;
};

struct DayStatsFilter {
  int64_t from_day = 0;  // inclusive
  int64_t to_day = 0;    // inclusive
  std::optional<int64_t> model_version;
  std::optional<int64_t> submitted_by_id;
};

// ---------------------------------------------------------------------------------------------
// Audit

// What a caller appends. The store assigns seq, time, prev_hash and hash.
struct AuditEntry {
  Actor actor;
  std::string action;   // "exam.submit", "exam.read", "audit.list", "model.activate", ...
  std::string object;   // "exam/42", "model/3", "token/7", "" when none
  std::string outcome;  // "ok", "denied", "not_found", ...
  std::string details;  // free text / compact JSON; for exam.submit: "exam_sha256=<hex>"
};

struct AuditEvent {
  int64_t seq = 0;  // 1, 2, 3, ... without gaps
  int64_t time_ms = 0;
  AuditEntry entry;
  std::string prev_hash;  // hex; 64 zeros for seq 1
  std::string hash;       // hex SHA-256(prev_hash || canonical(event)), docs/storage.md
};

// One event (or exam row) that fails verification.
struct AuditProblem {
  int64_t seq = 0;      // the event's seq; for an exam row no event covers, the seq it claims
  std::string problem;  // what failed, for a person
};

struct AuditVerifyResult {
  bool ok = false;
  int64_t length = 0;         // seq of the last event walked: the whole chain, also when !ok
  std::string head_hash;      // stored hash of the last event; 64 zeros for an empty chain
  int64_t first_bad_seq = 0;  // when !ok: the lowest seq with a problem
  std::string problem;        // when !ok: that problem
  // When !ok: every problem found, in seq order, the first kMaxListedAuditProblems of them;
  // problem_count counts all.
  std::vector<AuditProblem> problems;
  int64_t problem_count = 0;
  int64_t anchors_checked = 0;          // given anchors and trusted stored checkpoints compared
  int64_t checkpoints_not_checked = 0;  // stored checkpoints signed by a key not trusted here
};
inline constexpr size_t kMaxListedAuditProblems = 100;

struct AuditCheckpoint {
  int64_t seq = 0;   // 0 for an empty chain
  std::string hash;  // 64 zeros for an empty chain
};

// A checkpoint of the chain signed with the server's audit key (docs/storage.md "Checkpoints").
// The signature covers CanonicalCheckpoint (below).
struct SignedCheckpoint {
  int64_t id = 0;    // assigned by the store
  int64_t seq = 0;   // the event the checkpoint fixes (0: the empty chain)
  std::string hash;  // that event's hash
  int64_t time_ms = 0;
  std::string key_id;     // hex SHA-256 of the signing key's public key (DER SPKI)
  std::string signature;  // base64 of the 64-byte ECDSA P-256 r||s over the canonical form
};

// What a checkpoint's signature covers: "fetal-checkpoint-v1\n" followed by the fields seq, hash,
// time_ms and key_id in the canonical field form of docs/storage.md (canonical.cc).
std::string CanonicalCheckpoint(const SignedCheckpoint& checkpoint);

// What a stored checkpoint's signature is worth to the verifier.
enum class CheckpointTrust {
  kTrusted,       // signed by a key the verifier trusts: its hash must match the chain
  kUnknownKey,    // signed by another key: counted in checkpoints_not_checked, not compared
  kBadSignature,  // claims a trusted key but does not verify: reported as a problem
};

// A seq and hash an auditor noted earlier (from a checkpoint kept outside the database).
struct AuditAnchor {
  int64_t seq = 0;
  std::string hash;
  std::string label;  // how problems name it, e.g. "checkpoint 12" or "the given anchor"
};

struct VerifyOptions {
  std::vector<AuditAnchor> anchors;  // each must match the chain
  // Judges every stored checkpoint; unset = stored checkpoints are not read.
  std::function<CheckpointTrust(const SignedCheckpoint&)> trust;
};

// ---------------------------------------------------------------------------------------------
// Tokens

struct TokenRecord {
  int64_t id = 0;
  std::string name;
  std::string role;          // "clinician" | "auditor" | "admin"
  std::string token_sha256;  // hex SHA-256 of the secret; the secret itself is never stored
  int64_t created_ms = 0;
  bool revoked = false;
  int64_t revoked_ms = 0;
};

// ---------------------------------------------------------------------------------------------
// Models

struct ModelInput {
  int64_t version = 0;        // >= 1, or 0 to take max(version)+1
  std::string bundle;         // bundle bytes
  std::string signature;      // detached signature as uploaded
  std::string sha256;         // hex SHA-256 of `bundle` (checked by the store)
  std::string metadata_json;  // metrics summary etc., stored verbatim
};

struct ModelRecord {
  int64_t version = 0;
  std::string sha256;
  std::string signature;
  std::string metadata_json;
  int64_t created_ms = 0;
  bool active = false;
  std::string bundle;  // filled by GetModel/GetActiveModel only; empty in ListModels
};

// ---------------------------------------------------------------------------------------------
// Shadow evaluation: registered versions that also classify every new exam, off the request
// path, with their results kept apart from the exams (docs/model-changes.md).

// At most this many versions are in shadow at once: each costs one classification per exam.
inline constexpr int kMaxShadows = 3;

struct ShadowModel {
  int64_t version = 0;
  int64_t started_ms = 0;
  std::string started_by;  // Actor::name
};

// One exam as a shadow version classified it.
struct ShadowResult {
  int64_t version = 0;  // the shadow version
  int64_t exam_id = 0;
  int shadow_class = 0;  // 0..kNumClasses-1
  std::array<double, kNumClasses> probabilities{};
  int64_t evaluated_ms = 0;  // set by the store when stored
};

// A stored shadow result with its exam and the exam's latest outcome, for the shadow report.
struct ShadowPair {
  ExamRecord exam;
  ShadowResult shadow;
  std::optional<int> final_reading;  // the latest outcome's reading; unset without an outcome
};

// Which ActivateModel records: the audit event's outcome ("ok", or "override" when an admin
// activated past failing gates) and what it adds to its details (the gate values, JSON).
struct ActivationNote {
  std::string outcome = "ok";
  std::string details;
};

// ---------------------------------------------------------------------------------------------
// Release manifests and staged rollouts (docs/rollout.md). The store keeps the signed bytes as
// uploaded and never changes them; which one is published is the rollout's state.

// One stored manifest. `manifest` is the exact signed bytes, `signature` its base64 signature.
struct ReleaseRecord {
  int64_t sequence = 0;
  std::string kind;  // "rollout" | "revert" | "promote"
  std::string site;
  std::string manifest;
  std::string signature;
  int steps = 0;  // a rollout's number of steps (its steps_percent); 0 for the endings
  int64_t uploaded_ms = 0;
  std::string uploaded_by;   // Actor::name
  int64_t published_ms = 0;  // 0 while not published
};

// A started rollout, keyed by its manifest's sequence.
struct RolloutRecord {
  int64_t sequence = 0;
  std::string state;  // "running" | "halted" | "promoted"
  int step = 0;       // index into the rollout manifest's steps_percent
  int steps = 0;
  int64_t step_started_ms = 0;  // when the current step began: the start of its window
  int64_t started_ms = 0;
  std::string started_by;
  int64_t ended_ms = 0;  // halted or promoted; 0 while running
};

enum class RolloutAction { kStart, kStep, kHalt, kPromote };

// What a rollout decision records, and what it changes besides the rollout.
struct RolloutChange {
  std::string outcome = "ok";  // the audit event's: "override" for a start past failing gates
  std::string evidence;        // the audit event's details (JSON)
  // kPromote: the rollout's candidate, made the registry's active version in the decision's
  // transaction (its own "model.activate" event); 0 activates nothing. Ignored by other actions.
  int64_t activate_version = 0;
};

struct StoreStats {
  int64_t exams = 0;
  int64_t mismatches = 0;
  int64_t audit_length = 0;
  // This Store object's committer since Open (in memory, not stored): transactions committed and
  // the writes they carried; committed_writes / commits is the mean group size.
  int64_t commits = 0;
  int64_t committed_writes = 0;
};

struct StoreOptions {
  // "postgresql://..." or "postgres://..." (libpq URL) selects PostgreSQL; anything else is a
  // SQLite file path (an optional "sqlite:" prefix is stripped). Parent directory must exist.
  std::string url;
  int max_group_size = 1024;  // most writes committed in one transaction
  // Read connections used for queries (the committer has its own write connection).
  int read_connections = 4;
  StoreLimits limits;
};

// Whether the store can commit right now (GET /health).
struct WriteHealth {
  bool ok = false;
  std::string problem;  // when !ok: why, for a person
};

class Store {
 public:
  // Opens (creating and migrating the schema if needed) and starts the committer thread.
  static StoreStatus Open(const StoreOptions& options, std::unique_ptr<Store>* store);

  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  virtual const char* backend() const = 0;  // "sqlite" | "postgresql"

  // Liveness: a trivial round trip on a read connection. Unavailable when unreachable.
  virtual StoreStatus Ping() = 0;

  // --- tokens (each change appends an audit event "token.create" / "token.revoke") ---
  // Conflict when the hash or the name was ever used, by an active or a revoked token: a name
  // stays with its token forever, so an audit event's actor always means one principal.
  // InvalidArgument for an empty, over-long or unstorable name (text/storable.h).
  virtual StoreStatus CreateToken(const std::string& name, const std::string& role,
                                  const std::string& token_sha256, const Actor& by,
                                  TokenRecord* out) = 0;
  // NotFound when unknown. Revoked tokens are returned too (check `revoked`).
  virtual StoreStatus FindTokenByHash(const std::string& token_sha256, TokenRecord* out) = 0;
  virtual StoreStatus ListTokens(std::vector<TokenRecord>* out) = 0;
  // NotFound when unknown; revoking a revoked token is OK and changes nothing.
  virtual StoreStatus RevokeToken(int64_t id, const Actor& by) = 0;

  // --- exams ---
  // Stores the exam and its "exam.submit" audit event in the same durable transaction; returns
  // after the commit. `by.principal_id` (> 0) owns the exam and scopes its key. Replay (same
  // principal, key and body hash): OK, replayed=true, original returned, nothing appended. Same
  // key, other body hash: Conflict naming the key. InvalidArgument for a missing principal, an
  // empty/oversized key, an out-of-range class, a number that is not finite and zero or normal,
  // or text that cannot be stored exactly (text/storable.h).
  virtual StoreStatus SubmitExam(const ExamInput& exam, const Actor& by, SubmitResult* out) = 0;
  // All or nothing: either every exam is stored (or replayed) or none is. On error the status
  // field names the failing element ("exams[17].client_exam_id"). out gets one result per input,
  // in order. A key repeated inside one batch with the same body is a replay of the first.
  virtual StoreStatus SubmitExamBatch(const std::vector<ExamInput>& exams, const Actor& by,
                                      std::vector<SubmitResult>* out) = 0;
  virtual StoreStatus GetExam(int64_t id, ExamRecord* out) = 0;
  // limit in 1..1000 (InvalidArgument "limit" otherwise). `cursor` is empty for the first page
  // or a next_cursor from an earlier call with the same filter (InvalidArgument "cursor" when
  // malformed). Ascending id; rows inserted while paging never cause duplicates or skips of
  // rows that existed before the first page.
  virtual StoreStatus ListExams(const ExamFilter& filter, const std::string& cursor, int limit,
                                ExamPage* out) = 0;

  // --- outcomes ---
  // Stores a new version of exam `exam_id`'s outcome with its "exam.outcome" audit event and
  // the exam's aggregates moved to the new reading, in one durable transaction. When the latest
  // version holds exactly this input, nothing is stored: OK with replayed=true and that
  // version. NotFound when there is no such exam; InvalidArgument (field named) for a value out
  // of its range. The caller checks who may record it.
  virtual StoreStatus RecordOutcome(int64_t exam_id, const OutcomeInput& outcome, const Actor& by,
                                    OutcomeResult* out) = 0;
  // The latest version; *out reset when the exam has none (or does not exist).
  virtual StoreStatus GetLatestOutcome(int64_t exam_id, std::optional<OutcomeRecord>* out) = 0;
  // Every version, ascending; empty when the exam has none (or does not exist).
  virtual StoreStatus ListOutcomes(int64_t exam_id, std::vector<OutcomeRecord>* out) = 0;

  // --- monitoring ---
  // The aggregates of the days in the filter, summed over submitters: one entry per day, model
  // version and runtime build that has exams, ascending day. InvalidArgument when from_day >
  // to_day or the range spans more than 3700 days.
  virtual StoreStatus QueryDayStats(const DayStatsFilter& filter, std::vector<DayStats>* out) = 0;

  // --- audit ---
  // Appends durably (group committed) and returns the stored event.
  virtual StoreStatus AppendAudit(const AuditEntry& entry, AuditEvent* out) = 0;
  // Events with seq > after_seq, ascending, at most limit (1..1000).
  virtual StoreStatus ListAudit(int64_t after_seq, int limit, std::vector<AuditEvent>* out) = 0;
  virtual StoreStatus GetAudit(int64_t seq, AuditEvent* out) = 0;
  // Walks the whole chain: recomputes every hash, checks seq continuity and prev links, and
  // recomputes each exam covered by an exam.submit event. It does not stop at a problem: every
  // failing event and unreadable or uncovered exam row is reported (AuditVerifyResult). Returns
  // OK with result->ok=false on a broken chain; a non-OK status only when the walk itself could
  // not run.
  // The walk reads the chain in pages on a connection of its own (never one of the read pool's)
  // in one snapshot, so its memory does not grow with the chain and other reads are not kept
  // waiting; one verification runs at a time per Store (others wait up to read_wait_ms).
  // With options: every anchor must match the event at its seq (an anchor past the end of the
  // chain means events were deleted), and every stored checkpoint is judged by options.trust.
  virtual StoreStatus VerifyAudit(const VerifyOptions& options, AuditVerifyResult* result) = 0;
  StoreStatus VerifyAudit(AuditVerifyResult* result) { return VerifyAudit({}, result); }
  // The chain's head as committed now.
  virtual StoreStatus Checkpoint(AuditCheckpoint* out) = 0;
  // Stores a signed checkpoint (id assigned) and appends "checkpoint.create" (object
  // "checkpoint/<id>") in the same transaction. The store does not check the signature.
  virtual StoreStatus PutCheckpoint(const SignedCheckpoint& checkpoint, const Actor& by,
                                    SignedCheckpoint* out) = 0;
  // Stored checkpoints with id > after_id, ascending id, at most limit (1..1000).
  virtual StoreStatus ListCheckpoints(int64_t after_id, int limit,
                                      std::vector<SignedCheckpoint>* out) = 0;

  // --- models ---
  // Conflict when the version exists; InvalidArgument when sha256 does not match the bundle.
  // Appends "model.put". The first model is not activated automatically.
  virtual StoreStatus PutModel(const ModelInput& model, const Actor& by, ModelRecord* out) = 0;
  virtual StoreStatus ListModels(std::vector<ModelRecord>* out) = 0;  // ascending version
  virtual StoreStatus GetModel(int64_t version, ModelRecord* out) = 0;
  virtual StoreStatus GetActiveModel(ModelRecord* out) = 0;  // NotFound when none is active
  // Makes `version` the only active one (rolling back = activating an older version); appends
  // "model.activate". NotFound when the version does not exist.
  // `note` is recorded in the event (its details follow "previous=<version> "). A version in
  // shadow leaves the shadow set in the same transaction ("model.shadow.stop", "activated").
  virtual StoreStatus ActivateModel(int64_t version, const Actor& by,
                                    const ActivationNote& note) = 0;
  StoreStatus ActivateModel(int64_t version, const Actor& by) {
    return ActivateModel(version, by, ActivationNote());
  }

  // --- shadow evaluation ---
  // Puts a registered version in shadow; appends "model.shadow.start". NotFound when there is no
  // such version; Conflict when kMaxShadows versions are in shadow already. A version already
  // in shadow stays so: OK, nothing appended.
  virtual StoreStatus StartShadow(int64_t version, const Actor& by) = 0;
  // Takes a version out of shadow (its stored results stay); appends "model.shadow.stop".
  // NotFound when it is not in shadow.
  virtual StoreStatus StopShadow(int64_t version, const Actor& by) = 0;
  virtual StoreStatus ListShadows(std::vector<ShadowModel>* out) = 0;  // ascending version
  // Stores the results no earlier call stored (a version evaluates an exam once: results for an
  // exam already evaluated by that version are left out, not duplicated nor changed), in one
  // durable transaction without audit events (they are derived from audited exams and a
  // registered bundle, and recomputable). *stored = how many were new. InvalidArgument for a
  // class out of range or a probability that is not finite; at most 1000 results per call.
  virtual StoreStatus PutShadowResults(const std::vector<ShadowResult>& results,
                                       int64_t* stored) = 0;
  // The stored results of `version` for exams received in [from_ms, to_ms) with exam id >
  // after_exam_id, ascending exam id, at most limit (1..1000), each with its exam and latest
  // outcome.
  virtual StoreStatus ListShadowPairs(int64_t version, int64_t from_ms, int64_t to_ms,
                                      int64_t after_exam_id, int limit,
                                      std::vector<ShadowPair>* out) = 0;

  // --- release manifests and staged rollouts ---
  // Stores a signed set, rollout first then revert and promote (already verified by the caller:
  // the store does not parse manifests); appends "release.upload". Conflict naming "sequence"
  // unless the rollout's sequence is above every stored one, or "site" when the set's site
  // differs from the stored manifests'.
  virtual StoreStatus PutReleaseSet(const std::vector<ReleaseRecord>& set, const Actor& by) = 0;
  // Every stored manifest, ascending sequence then kind.
  virtual StoreStatus ListReleases(std::vector<ReleaseRecord>* out) = 0;
  // The published manifest of highest sequence and the rollout it belongs to (for an ending,
  // the rollout it ends). NotFound when nothing is published.
  virtual StoreStatus GetPublishedRelease(ReleaseRecord* manifest, RolloutRecord* rollout) = 0;
  // NotFound when no rollout started at `sequence` (none uploaded, for kStart).
  virtual StoreStatus GetRollout(int64_t sequence, RolloutRecord* out) = 0;
  // Every rollout decision taken (the "release.rollout.*" audit events, which ChangeRollout
  // appends), ascending seq: each stored set's history. A partial index keeps the cost to the
  // number of decisions, not the length of the chain.
  virtual StoreStatus ListRolloutDecisions(std::vector<AuditEvent>* out) = 0;
  // One decision on the rollout uploaded at `sequence`, in one transaction with its audit event
  // ("release.rollout.<start|step|halt|promote>", object "release/<sequence>", change.outcome
  // and change.evidence as its outcome and details):
  //   kStart   publishes the rollout manifest at step 0. Conflict when a rollout is running,
  //            this one was started before, or a manifest of higher sequence is published.
  //   kStep    moves a running rollout to its next step. Conflict at the last step.
  //   kHalt    publishes the revert manifest; the rollout is "halted".
  //   kPromote publishes the promotion; only from the last step. The rollout is "promoted", and
  //            change.activate_version becomes the active version as ActivateModel makes it
  //            (NotFound, nothing changed, when it is not registered).
  //   kHalt and kStep leave the active version as it is.
  // A halted or promoted rollout takes no further decision (Conflict). `from_step` >= 0: only
  // if the rollout is at that step (Conflict otherwise: a decision evaluated on a step another
  // instance has left already). *out is the new state.
  virtual StoreStatus ChangeRollout(int64_t sequence, RolloutAction action, int from_step,
                                    const Actor& by, const RolloutChange& change,
                                    RolloutRecord* out) = 0;

  virtual StoreStatus Stats(StoreStats* out) = 0;

  // Runs an empty transaction through the committer (write lock, chain lock, COMMIT) and waits
  // at most `wait_ms` for it. Concurrent callers share one attempt. Not OK when the committer
  // cannot commit now: the database refuses, or another session holds the chain lock.
  virtual WriteHealth CheckWrites(int wait_ms) = 0;

 protected:
  Store() = default;
};

}  // namespace storage
}  // namespace fetal
