// Fuzzes the server's exam JSON decoder (fetal::server::DecodeExam, server/exam_json.h) the way
// the POST /exams and POST /exams:batch handlers use it: parse the body without exceptions,
// decode, validate with the model core, render the errors or the stored record as JSON.
//
// The body is pre-scanned (ScanJsonShape, the handlers' depth, item and string limits) before
// it is parsed, as the handlers do.
//
// Promises checked: no crash, sanitizer report or escaping exception on any body (an exception
// would become a 5xx, and client input must never cause one); DecodeExam returns true exactly
// when it reported nothing; every error has a rule and a message, a bounded excerpt of the bad
// value (never a copy) and, inside a batch, a field path starting with the element's prefix; an
// accepted exam has a well-formed id, class and version, text and numbers the store can keep
// exactly, and a canonical body hash (the same exam re-serialized is still a replay).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "exam_json.h"
#include "fetal/schema.h"
#include "fetal/validator.h"
#include "fuzz_check.h"
#include "http/body.h"
#include "http/json_shape.h"
#include "text/storable.h"

namespace {

using fetal::server::FieldError;
using fetal::server::FieldErrors;
using nlohmann::json;

bool DecodeAndCheck(const json& body, const std::string& prefix, fetal::storage::ExamInput* exam) {
  FieldErrors errors;
  bool ok = fetal::server::DecodeExam(body, prefix, exam, &errors);
  FUZZ_CHECK(ok == errors.empty(), "DecodeExam returns true iff it reported no error");
  for (const FieldError& e : errors.listed()) {
    FUZZ_CHECK(!e.rule.empty() && !e.message.empty(), "field error has a rule and a message");
    if (!prefix.empty()) {
      FUZZ_CHECK(e.field.compare(0, prefix.size() - 1, prefix, 0, prefix.size() - 1) == 0,
                 "batch element errors name the element");
    }
    FUZZ_CHECK(e.field.size() <= prefix.size() + 100 && e.message.size() <= 1000,
               "an error's field and message are short whatever the input");
    FUZZ_CHECK(!e.value.is_string() || e.value.get_ref<const std::string&>().size() <= 200,
               "an error carries an excerpt of the value, not a copy");
    (void)fetal::server::FieldErrorToJson(e).dump();  // the 400/422 body must render
  }
  if (!ok) return false;
  FUZZ_CHECK(!exam->client_exam_id.empty() && exam->client_exam_id.size() <= 128,
             "accepted exam has a 1..128 byte id");
  FUZZ_CHECK(exam->client_class >= 0 && exam->client_class < fetal::kNumClasses,
             "accepted exam has a known class");
  FUZZ_CHECK(exam->model_version >= 1, "accepted exam names a model version >= 1");
  FUZZ_CHECK(exam->body_sha256.size() == 64, "accepted exam has a body hash");
  FUZZ_CHECK(fetal::text::IsStorableText(exam->note) &&
                 fetal::text::IsStorableText(exam->patient_ref),
             "accepted text reads back exactly on both backends");
  for (double v : exam->features)
    FUZZ_CHECK(fetal::text::IsStorableNumber(v), "accepted features read back exactly");
  for (double v : exam->client_probabilities)
    FUZZ_CHECK(fetal::text::IsStorableNumber(v), "accepted probabilities read back exactly");
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fetal::server::JsonShape shape;
  if (!fetal::server::ScanJsonShape(input,
                                    fetal::server::JsonLimits{fetal::server::kMaxJsonDepth, 100000,
                                                              fetal::server::kMaxJsonStringBytes},
                                    &shape)) {
    return 0;  // the handler answers 400 / 413 before parsing
  }
  json body = json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;  // the handler answers 400 before decoding

  fetal::storage::ExamInput exam;
  if (!DecodeAndCheck(body, "", &exam)) {
    fetal::storage::ExamInput element;
    DecodeAndCheck(body, "exams[7].", &element);
    return 0;
  }

  // Same exam, other spacing: still the same body hash (a replay, not a 409).
  json reparsed = json::parse(body.dump(2), nullptr, false);
  FUZZ_CHECK(!reparsed.is_discarded(), "a decoded body re-serializes to valid JSON");
  fetal::storage::ExamInput again;
  FUZZ_CHECK(DecodeAndCheck(reparsed, "", &again), "a re-serialized exam still decodes");
  FUZZ_CHECK(again.body_sha256 == exam.body_sha256, "the body hash is canonical");

  // What the handler does next: validate, report findings, store, answer with the record.
  float features[fetal::kNumFeatures];
  for (int i = 0; i < fetal::kNumFeatures; ++i) features[i] = static_cast<float>(exam.features[i]);
  std::vector<fetal::Finding> findings = fetal::ValidateExam(features, nullptr);
  FieldErrors errors;
  fetal::server::FindingsToErrors(findings, "", &errors);
  for (const FieldError& e : errors.listed()) (void)fetal::server::FieldErrorToJson(e).dump();
  (void)fetal::server::WarningsToJson(findings).dump();
  if (fetal::IsAcceptable(findings)) {
    fetal::storage::ExamRecord record;
    record.id = 1;
    record.input = exam;
    record.submitted_by = "fuzz";
    record.received_ms = 1795000000000;
    std::string text;
    fetal::server::AppendExamJson(record, nullptr, "", &text);
    FUZZ_CHECK(!json::parse(text, nullptr, false).is_discarded(),
               "the stored exam renders as valid JSON");
  }
  return 0;
}
