// The JSON form of an exam, both directions: decoding a client's exam (POST /exams, each element
// of POST /exams:batch) and writing the stored exam (every exam response). docs/api.md specifies
// both.
//
// Decoding never throws and never stops at the first problem: every failing field is reported,
// named by its JSON path ("features.baseline_value", "exams[3].client_result.probabilities").
// An error carries a short excerpt of the bad value (ValueExcerpt), never a copy: a refused
// request cannot make the answer larger than a few hundred bytes per listed error.
//
// What is accepted can be stored exactly and read back identically on both backends
// (text/storable.h): strings with NUL, other control characters (but tab, line feed, carriage
// return) are refused (rule "forbidden_character"), and so are subnormal numbers (rule
// "subnormal").
//
// One writer produces both the response form and the idempotency form (the fields a client
// sends, ClientExamJson): a replay is recognised by the SHA-256 of the latter, so its bytes must
// never change (tests/server/server_unit_test.cc pins them).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetal/validator.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// One problem with one field of a request.
struct FieldError {
  std::string field;    // JSON path
  std::string rule;     // stable id: "required", "type", "range", "unknown_field", a validator rule
  std::string message;  // a sentence for a person
  std::string expected;  // the expected form, may be empty
  nlohmann::json value;  // ValueExcerpt of the offending value, null when absent
};

nlohmann::json FieldErrorToJson(const FieldError& e);

// The field errors of one request: every one is counted, the first kMaxListedFieldErrors are
// kept (the 422 answer lists those).
inline constexpr size_t kMaxListedFieldErrors = 200;
class FieldErrors {
 public:
  void Add(FieldError e);
  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  const std::vector<FieldError>& listed() const { return listed_; }

 private:
  size_t count_ = 0;
  std::vector<FieldError> listed_;
};

// A bounded stand-in for a client's value in an error: numbers, booleans and null as they are,
// strings cut to text::kExcerptBytes, arrays and objects as a short text ("[0.5, 0.6, ...]").
// Never recurses.
nlohmann::json ValueExcerpt(const nlohmann::json& v);
// The same as text for a message: JSON for scalars ("\"abc\"", 12), the short text for
// containers, cut to 2 * text::kExcerptBytes bytes (+ "...") whatever their keys and values.
std::string ValueExcerptText(const nlohmann::json& v);

// Decodes the client's part of one exam (everything but the server's re-evaluation) into *out.
// `prefix` is prepended to field paths ("" or "exams[3]."). Appends to *errors; returns true if
// nothing was appended. Also sets out->body_sha256 = SHA-256 of ClientExamJson(*out).
bool DecodeExam(const nlohmann::json& j, const std::string& prefix, storage::ExamInput* out,
                FieldErrors* errors);

// Validator findings -> field errors (errors only) and warnings JSON (warnings only).
void FindingsToErrors(const std::vector<Finding>& findings, const std::string& prefix,
                      FieldErrors* errors);
nlohmann::json WarningsToJson(const std::vector<Finding>& findings);

// Appends the stored exam as its JSON object: keys in alphabetical order (features in schema
// order), numbers in their shortest round-trip form. `replayed` (when non-null) and `warnings_json`
// (a JSON array text, when non-empty) are added as "replayed" and "warnings". Written directly,
// without a JSON tree: this is the hot path of every exam response.
void AppendExamJson(const storage::ExamRecord& exam, const bool* replayed,
                    const std::string& warnings_json, std::string* out);

// As AppendExamJson, with "outcome": `outcome_json` (a JSON value text: the latest outcome or
// null), for GET /exams/{id}.
void AppendExamJsonWithOutcome(const storage::ExamRecord& exam, const std::string& outcome_json,
                               std::string* out);

// The fields a client sends, as AppendExamJson writes them (client_exam_id, client_result,
// client_time, features in schema order, note and patient_ref with absent ones as "",
// runtime_build only when sent). The same
// exam sent with other spacing, key order or number spelling (120 vs 120.0) gives the same text,
// so its hash makes a resubmission a replay, not a conflict.
std::string ClientExamJson(const storage::ExamInput& in);

// "Normal" | "Suspect" | "Pathological" -> 0..2, or -1.
int ClassIndex(const std::string& name);

}  // namespace server
}  // namespace fetal
