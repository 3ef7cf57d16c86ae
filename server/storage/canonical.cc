#include "storage/canonical.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "fetal/sha256.h"
#include "text/number_text.h"

namespace fetal {
namespace storage {
namespace {

void AddField(std::string* out, const char* name, const std::string& value) {
  out->append(name);
  out->push_back('=');
  out->append(std::to_string(value.size()));
  out->push_back(':');
  out->append(value);
  out->push_back('\n');
}

}  // namespace

std::string FormatDoubles(const double* v, int count) {
  std::string out;
  out.reserve(count * 20);
  for (int i = 0; i < count; ++i) {
    if (i) out.push_back(',');
    text::AppendPrecise(v[i], &out);
  }
  return out;
}

bool ParseDoubles(const std::string& text, double* v, int count) {
  const char* p = text.c_str();
  for (int i = 0; i < count; ++i) {
    if (i) {
      if (*p != ',') return false;
      ++p;
    }
    char* end = nullptr;
    errno = 0;
    v[i] = strtod(p, &end);
    // strtod reports ERANGE for subnormal results too, which it still returns exactly; only an
    // overflow to infinity is a number the formatter never writes.
    if (end == p || (errno == ERANGE && std::isinf(v[i]))) return false;
    p = end;
  }
  return *p == '\0';
}

std::string CanonicalAuditEvent(int64_t seq, int64_t time_ms, const AuditEntry& entry) {
  std::string out = "fetal-audit-v1\n";
  AddField(&out, "seq", std::to_string(seq));
  AddField(&out, "time_ms", std::to_string(time_ms));
  AddField(&out, "actor", entry.actor.name);
  AddField(&out, "role", entry.actor.role);
  AddField(&out, "request_id", entry.actor.request_id);
  AddField(&out, "action", entry.action);
  AddField(&out, "object", entry.object);
  AddField(&out, "outcome", entry.outcome);
  AddField(&out, "details", entry.details);
  return out;
}

std::string AuditEventHash(const std::string& prev_hash, int64_t seq, int64_t time_ms,
                           const AuditEntry& entry) {
  std::string data = prev_hash + CanonicalAuditEvent(seq, time_ms, entry);
  return Sha256Hex(data.data(), data.size());
}

std::string CanonicalCheckpoint(const SignedCheckpoint& checkpoint) {
  std::string out = "fetal-checkpoint-v1\n";
  AddField(&out, "seq", std::to_string(checkpoint.seq));
  AddField(&out, "hash", checkpoint.hash);
  AddField(&out, "time_ms", std::to_string(checkpoint.time_ms));
  AddField(&out, "key_id", checkpoint.key_id);
  return out;
}

ExamNumbers FormatExamNumbers(const ExamInput& in) {
  ExamNumbers n;
  n.features = FormatDoubles(in.features.data(), kNumFeatures);
  n.client_probabilities = FormatDoubles(in.client_probabilities.data(), kNumClasses);
  n.server_probabilities = FormatDoubles(in.server_probabilities.data(), kNumClasses);
  n.max_abs_diff = text::Precise(in.max_abs_diff);
  return n;
}

std::string CanonicalExamPrefix(const ExamInput& in, const std::string& submitted_by,
                                int64_t submitted_by_id, int version, const ExamNumbers& numbers) {
  std::string out = "fetal-exam-v" + std::to_string(version) + "\n";
  out.reserve(1024);
  AddField(&out, "submitted_by", submitted_by);
  if (version != 1) AddField(&out, "submitted_by_id", std::to_string(submitted_by_id));
  AddField(&out, "client_exam_id", in.client_exam_id);
  AddField(&out, "body_sha256", in.body_sha256);
  AddField(&out, "features", numbers.features);
  AddField(&out, "client_class", std::to_string(in.client_class));
  AddField(&out, "client_probabilities", numbers.client_probabilities);
  AddField(&out, "model_version", std::to_string(in.model_version));
  AddField(&out, "server_class", std::to_string(in.server_class));
  AddField(&out, "server_probabilities", numbers.server_probabilities);
  AddField(&out, "agreement", in.agreement ? "1" : "0");
  AddField(&out, "max_abs_diff", numbers.max_abs_diff);
  AddField(&out, "patient_ref", in.patient_ref);
  AddField(&out, "note", in.note);
  AddField(&out, "client_timestamp", in.client_timestamp);
  // Only when known, so exams stored before prediction sets keep their content hash.
  if (in.server_set != 0) AddField(&out, "server_set", std::to_string(in.server_set));
  if (version >= 3) AddField(&out, "runtime_build", in.runtime_build);
  return out;
}

std::string CanonicalExamSuffix(int64_t received_ms, int64_t id) {
  std::string out;
  AddField(&out, "received_ms", std::to_string(received_ms));
  AddField(&out, "id", std::to_string(id));
  return out;
}

std::string CanonicalExam(const ExamRecord& exam) {
  return CanonicalExamPrefix(exam.input, exam.submitted_by, exam.submitted_by_id,
                             exam.content_version, FormatExamNumbers(exam.input)) +
         CanonicalExamSuffix(exam.received_ms, exam.id);
}

std::string ExamContentHash(const ExamRecord& exam) {
  std::string data = CanonicalExam(exam);
  return Sha256Hex(data.data(), data.size());
}

OutcomeText FormatOutcome(const OutcomeInput& in) {
  OutcomeText t;
  if (in.apgar_5min) t.apgar_5min = std::to_string(*in.apgar_5min);
  if (in.umbilical_ph) t.umbilical_ph = text::Precise(*in.umbilical_ph);
  if (in.base_deficit) t.base_deficit = text::Precise(*in.base_deficit);
  if (in.nicu_admission) t.nicu_admission = *in.nicu_admission ? "true" : "false";
  return t;
}

bool ParseOutcome(const OutcomeText& t, OutcomeInput* out) {
  auto number = [](const std::string& s, double* v) {
    char* end = nullptr;
    *v = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size();
  };
  double v = 0;
  out->apgar_5min.reset();
  out->umbilical_ph.reset();
  out->base_deficit.reset();
  out->nicu_admission.reset();
  if (!t.apgar_5min.empty()) {
    if (!number(t.apgar_5min, &v)) return false;
    out->apgar_5min = static_cast<int>(v);
  }
  if (!t.umbilical_ph.empty()) {
    if (!number(t.umbilical_ph, &v)) return false;
    out->umbilical_ph = v;
  }
  if (!t.base_deficit.empty()) {
    if (!number(t.base_deficit, &v)) return false;
    out->base_deficit = v;
  }
  if (!t.nicu_admission.empty()) {
    if (t.nicu_admission != "true" && t.nicu_admission != "false") return false;
    out->nicu_admission = t.nicu_admission == "true";
  }
  return true;
}

std::string CanonicalOutcome(const OutcomeRecord& o) {
  const OutcomeText t = FormatOutcome(o.input);
  std::string out = "fetal-outcome-v1\n";
  AddField(&out, "exam_id", std::to_string(o.exam_id));
  AddField(&out, "version", std::to_string(o.version));
  AddField(&out, "final_reading", std::to_string(o.input.final_reading));
  AddField(&out, "apgar_5min", t.apgar_5min);
  AddField(&out, "umbilical_ph", t.umbilical_ph);
  AddField(&out, "base_deficit", t.base_deficit);
  AddField(&out, "nicu_admission", t.nicu_admission);
  AddField(&out, "recorded_by", o.recorded_by);
  AddField(&out, "recorded_by_id", std::to_string(o.recorded_by_id));
  AddField(&out, "recorded_ms", std::to_string(o.recorded_ms));
  return out;
}

bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace storage
}  // namespace fetal
