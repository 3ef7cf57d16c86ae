#include "exam_json.h"

#include <cmath>

#include "fetal/schema.h"
#include "fetal/sha256.h"
#include "text/excerpt.h"
#include "text/json_text.h"
#include "text/number_text.h"
#include "text/storable.h"
#include "text/time_text.h"

namespace fetal {
namespace server {

using nlohmann::json;

namespace {

constexpr size_t kMaxExamIdBytes = 128;
constexpr size_t kMaxPatientRefBytes = 128;
constexpr size_t kMaxNoteBytes = 4000;
constexpr size_t kMaxRuntimeBuildBytes = 128;
// A client's probabilities may be rounded for transport; 0.001 is far more than rounding needs.
constexpr double kProbabilitySumTolerance = 1e-3;

void Add(FieldErrors* errors, std::string field, std::string rule, std::string message,
         std::string expected, json value = nullptr) {
  errors->Add(FieldError{std::move(field), std::move(rule), std::move(message), std::move(expected),
                         std::move(value)});
}

const char* TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

// A JSON key as it may appear in a field path: cut short.
std::string Key(const std::string& key) { return text::Excerpt(key); }

std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// Scalars as JSON text; strings cut short first.
std::string ScalarText(const json& v) {
  if (v.is_string()) return Dump(json(text::Excerpt(v.get_ref<const std::string&>())));
  return Dump(v);
}

// Both text forms of a number the store can keep exactly (text/storable.h); appends the error
// otherwise.
bool CheckStorableNumber(double x, const std::string& field, const json& v, FieldErrors* errors) {
  if (text::IsStorableNumber(x)) return true;
  Add(errors, field, "subnormal",
      field + " is " + ScalarText(v) +
          ", a number too small to store exactly; send 0 or a number of magnitude at least "
          "2.2250738585072014e-308",
      "0 or a number of magnitude >= 2.2250738585072014e-308", ValueExcerpt(v));
  return false;
}

bool ValidExamId(const std::string& id) {
  if (id.empty() || id.size() > kMaxExamIdBytes) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

void DecodeOptionalString(const json& j, const char* key, size_t max_bytes,
                          const std::string& prefix, std::string* out, FieldErrors* errors) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  std::string field = prefix + key;
  if (!it->is_string()) {
    Add(errors, field, "type", field + " must be a string, got " + TypeName(*it), "a string",
        ValueExcerpt(*it));
    return;
  }
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    Add(errors, field, "too_long",
        field + " is " + std::to_string(s.size()) + " bytes long; at most " +
            std::to_string(max_bytes) + " are allowed",
        "a string of at most " + std::to_string(max_bytes) + " bytes");
    return;
  }
  size_t bad = 0;
  if (!text::IsStorableText(s, &bad)) {
    Add(errors, field, "forbidden_character",
        field + " holds " + text::UnstorableTextReason(s, bad) + " at byte " + std::to_string(bad) +
            "; only tab, line feed and carriage return are allowed among "
            "the control characters",
        "text without NUL or control characters other than tab, line feed, carriage return",
        ValueExcerpt(*it));
    return;
  }
  *out = s;
}

void DecodeClientResult(const json& r, const std::string& prefix, storage::ExamInput* out,
                        FieldErrors* errors) {
  const std::string base = prefix + "client_result";
  if (!r.is_object()) {
    Add(errors, base, "type", base + " must be an object, got " + TypeName(r),
        "{\"class\", \"probabilities\", \"model_version\"}", ValueExcerpt(r));
    return;
  }
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (it.key() != "class" && it.key() != "probabilities" && it.key() != "model_version") {
      const std::string field = base + "." + Key(it.key());
      Add(errors, field, "unknown_field", field + " is not a known field",
          "only class, probabilities and model_version");
    }
  }
  // class
  auto c = r.find("class");
  if (c == r.end()) {
    Add(errors, base + ".class", "required", base + ".class is missing",
        "\"Normal\", \"Suspect\" or \"Pathological\"");
  } else if (!c->is_string() || ClassIndex(c->get_ref<const std::string&>()) < 0) {
    Add(errors, base + ".class", "enum",
        base + ".class must be \"Normal\", \"Suspect\" or \"Pathological\", got " +
            ValueExcerptText(*c),
        "\"Normal\", \"Suspect\" or \"Pathological\"", ValueExcerpt(*c));
  } else {
    out->client_class = ClassIndex(c->get<std::string>());
  }
  // probabilities
  const std::string pfield = base + ".probabilities";
  const std::string pexpected =
      "an array of 3 numbers in [0, 1] (Normal, Suspect, Pathological) summing to 1";
  auto p = r.find("probabilities");
  if (p == r.end()) {
    Add(errors, pfield, "required", pfield + " is missing", pexpected);
  } else if (!p->is_array() || p->size() != static_cast<size_t>(kNumClasses)) {
    Add(errors, pfield, "type", pfield + " must be " + pexpected + ", got " + ValueExcerptText(*p),
        pexpected, ValueExcerpt(*p));
  } else {
    double sum = 0;
    bool ok = true;
    for (int k = 0; k < kNumClasses; ++k) {
      const json& v = (*p)[k];
      const std::string field = pfield + "[" + std::to_string(k) + "]";
      if (!v.is_number()) {
        Add(errors, field, "type", field + " must be a number, got " + TypeName(v),
            "a number in [0, 1]", ValueExcerpt(v));
        ok = false;
        continue;
      }
      double x = v.get<double>();
      if (!std::isfinite(x) || x < 0 || x > 1) {
        Add(errors, field, "range", field + " is " + ScalarText(v) + "; a probability is in [0, 1]",
            "a number in [0, 1]", ValueExcerpt(v));
        ok = false;
        continue;
      }
      if (!CheckStorableNumber(x, field, v, errors)) {
        ok = false;
        continue;
      }
      out->client_probabilities[k] = x;
      sum += x;
    }
    if (ok && std::fabs(sum - 1.0) > kProbabilitySumTolerance) {
      Add(errors, pfield, "sum",
          pfield + " sums to " + text::Readable(sum) +
              "; probabilities must sum to 1 (within 0.001)",
          pexpected, ValueExcerpt(*p));
    }
  }
  // model_version
  auto m = r.find("model_version");
  if (m == r.end()) {
    Add(errors, base + ".model_version", "required", base + ".model_version is missing",
        "the registry version of the model that produced the result, an integer >= 1");
  } else if (!m->is_number_integer() || m->get<int64_t>() < 1) {
    Add(errors, base + ".model_version", "type",
        base + ".model_version must be an integer >= 1, got " + ValueExcerptText(*m),
        "an integer >= 1", ValueExcerpt(*m));
  } else {
    out->model_version = m->get<int64_t>();
  }
}

}  // namespace

void FieldErrors::Add(FieldError e) {
  ++count_;
  if (listed_.size() < kMaxListedFieldErrors) listed_.push_back(std::move(e));
}

json ValueExcerpt(const json& v) {
  if (v.is_string()) return json(text::Excerpt(v.get_ref<const std::string&>()));
  if (v.is_array() || v.is_object()) return json(ValueExcerptText(v));
  return v;
}

std::string ValueExcerptText(const json& v) {
  if (!v.is_array() && !v.is_object()) return ScalarText(v);
  // The first elements, one level deep: nested containers are shown as [...] / {...}.
  constexpr size_t kShown = 3;
  const bool array = v.is_array();
  std::string out = array ? "[" : "{";
  size_t n = 0;
  for (auto it = v.begin(); it != v.end(); ++it, ++n) {
    if (n == kShown) {
      out += ", ...";
      break;
    }
    if (n) out += ", ";
    if (!array) out += Dump(json(Key(it.key()))) + ": ";
    const json& e = it.value();
    out += e.is_array() ? "[...]" : e.is_object() ? "{...}" : ScalarText(e);
  }
  out += array ? "]" : "}";
  // Three excerpted keys and values (JSON-escaped, so up to 6 bytes a byte) can still be long:
  // the whole text is cut as well.
  constexpr size_t kMaxBytes = 2 * text::kExcerptBytes;
  return out.size() <= kMaxBytes ? out : text::Excerpt(out, kMaxBytes);
}

json FieldErrorToJson(const FieldError& e) {
  json j = {{"field", e.field}, {"rule", e.rule}, {"message", e.message}};
  if (!e.expected.empty()) j["expected"] = e.expected;
  if (!e.value.is_null()) j["value"] = e.value;
  return j;
}

int ClassIndex(const std::string& name) {
  for (int k = 0; k < kNumClasses; ++k) {
    if (kClassNames[k] == name) return k;
  }
  return -1;
}

bool DecodeExam(const json& j, const std::string& prefix, storage::ExamInput* out,
                FieldErrors* errors) {
  const size_t errors_before = errors->count();
  const std::string where =
      prefix.empty() ? "the request body" : prefix.substr(0, prefix.size() - 1);
  if (!j.is_object()) {
    Add(errors, prefix.empty() ? "" : where, "type",
        where + " must be a JSON object, got " + TypeName(j), "an exam object (docs/api.md)");
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k != "client_exam_id" && k != "features" && k != "client_result" && k != "patient_ref" &&
        k != "note" && k != "client_time" && k != "runtime_build") {
      const std::string field = prefix + Key(k);
      Add(errors, field, "unknown_field", field + " is not a known exam field",
          "client_exam_id, features, client_result, client_time, patient_ref, note, "
          "runtime_build");
    }
  }
  // client_exam_id
  const std::string id_expected = "1 to 128 characters from A-Z a-z 0-9 - _ . : (e.g. a UUID)";
  auto id = j.find("client_exam_id");
  if (id == j.end()) {
    Add(errors, prefix + "client_exam_id", "required", prefix + "client_exam_id is missing",
        id_expected);
  } else if (!id->is_string() || !ValidExamId(id->get_ref<const std::string&>())) {
    Add(errors, prefix + "client_exam_id", "format",
        prefix + "client_exam_id must be " + id_expected + ", got " + ValueExcerptText(*id),
        id_expected, ValueExcerpt(*id));
  } else {
    out->client_exam_id = id->get<std::string>();
  }
  // features
  const auto& schema = FeatureSchema();
  auto f = j.find("features");
  if (f == j.end()) {
    Add(errors, prefix + "features", "required", prefix + "features is missing",
        "an object with the 21 features by key (docs/api.md)");
  } else if (!f->is_object()) {
    Add(errors, prefix + "features", "type",
        prefix + "features must be an object, got " + TypeName(*f),
        "an object with the 21 features by key (docs/api.md)", ValueExcerpt(*f));
  } else {
    for (auto it = f->begin(); it != f->end(); ++it) {
      if (FeatureIndex(it.key()) < 0 || schema[FeatureIndex(it.key())].key != it.key()) {
        const std::string field = prefix + "features." + Key(it.key());
        Add(errors, field, "unknown_field", field + " is not a feature key",
            "one of the 21 keys such as baseline_value (docs/api.md)");
      }
    }
    for (int i = 0; i < kNumFeatures; ++i) {
      const std::string key(schema[i].key);
      const std::string field = prefix + "features." + key;
      const std::string expected =
          "a number" +
          (schema[i].unit.empty() ? std::string() : " in " + std::string(schema[i].unit));
      auto v = f->find(key);
      if (v == f->end()) {
        Add(errors, field, "required", field + " is missing (" + std::string(schema[i].name) + ")",
            expected);
      } else if (!v->is_number()) {
        Add(errors, field, "type", field + " must be a number, got " + TypeName(*v), expected,
            ValueExcerpt(*v));
      } else if (CheckStorableNumber(v->get<double>(), field, *v, errors)) {
        out->features[i] = v->get<double>();
      }
    }
  }
  // client_result
  auto r = j.find("client_result");
  if (r == j.end()) {
    Add(errors, prefix + "client_result", "required", prefix + "client_result is missing",
        "{\"class\", \"probabilities\", \"model_version\"}");
  } else {
    DecodeClientResult(*r, prefix, out, errors);
  }
  // client_time
  auto t = j.find("client_time");
  const std::string t_expected = "an ISO 8601 time with zone, e.g. 2026-11-28T13:45:00Z";
  int64_t ms;
  if (t == j.end()) {
    Add(errors, prefix + "client_time", "required", prefix + "client_time is missing", t_expected);
  } else if (!t->is_string() || !text::ParseTime(t->get_ref<const std::string&>(), &ms)) {
    Add(errors, prefix + "client_time", "format",
        prefix + "client_time must be " + t_expected + ", got " + ValueExcerptText(*t), t_expected,
        ValueExcerpt(*t));
  } else {
    out->client_timestamp = t->get<std::string>();
  }
  DecodeOptionalString(j, "patient_ref", kMaxPatientRefBytes, prefix, &out->patient_ref, errors);
  DecodeOptionalString(j, "note", kMaxNoteBytes, prefix, &out->note, errors);
  DecodeOptionalString(j, "runtime_build", kMaxRuntimeBuildBytes, prefix, &out->runtime_build,
                       errors);

  if (errors->count() != errors_before) return false;
  const std::string client_part = ClientExamJson(*out);
  out->body_sha256 = Sha256Hex(client_part.data(), client_part.size());
  return true;
}

void FindingsToErrors(const std::vector<Finding>& findings, const std::string& prefix,
                      FieldErrors* errors) {
  const auto& schema = FeatureSchema();
  for (const Finding& f : findings) {
    if (f.severity != Severity::kError) continue;
    std::string field = prefix + "features";
    if (f.feature >= 0 && f.feature < kNumFeatures)
      field += "." + std::string(schema[f.feature].key);
    json value = std::isfinite(f.value) ? json(f.value) : json(nullptr);
    Add(errors, field, f.rule, f.message, f.expected, value);
  }
}

json WarningsToJson(const std::vector<Finding>& findings) {
  const auto& schema = FeatureSchema();
  json out = json::array();
  for (const Finding& f : findings) {
    if (f.severity != Severity::kWarning) continue;
    json w = {{"rule", f.rule}, {"message", f.message}, {"expected", f.expected}};
    if (f.feature >= 0 && f.feature < kNumFeatures)
      w["field"] = "features." + std::string(schema[f.feature].key);
    if (std::isfinite(f.value)) w["value"] = f.value;
    out.push_back(std::move(w));
  }
  return out;
}

namespace {

void AppendClass(int k, std::string* out) {
  if (k >= 0 && k < kNumClasses) text::AppendJsonString(kClassNames[k], out);
  else *out += "null";
}

void AppendProbabilities(const std::array<double, kNumClasses>& p, std::string* out) {
  out->push_back('[');
  for (int k = 0; k < kNumClasses; ++k) {
    if (k) out->push_back(',');
    text::AppendShortest(p[k], out);
  }
  out->push_back(']');
}

// `set`: the conformal prediction set as a class mask; written as "set" only when not 0.
void AppendResult(int cls, int64_t model_version, const std::array<double, kNumClasses>& p,
                  unsigned set, std::string* out) {
  *out += "{\"class\":";
  AppendClass(cls, out);
  *out += ",\"model_version\":";
  text::AppendInt(model_version, out);
  *out += ",\"probabilities\":";
  AppendProbabilities(p, out);
  if (set != 0) {
    *out += ",\"set\":[";
    bool first = true;
    for (int c = 0; c < kNumClasses; ++c) {
      if (!((set >> c) & 1u)) continue;
      if (!first) out->push_back(',');
      first = false;
      AppendClass(c, out);
    }
    out->push_back(']');
  }
  out->push_back('}');
}

// The exam JSON form: keys in alphabetical order, features in schema order. Without `record`
// only the fields a client sends are written: the idempotency form (ClientExamJson).
// `outcome_json` (a JSON value text, when non-empty) is written as "outcome".
void AppendExam(const storage::ExamInput& in, const storage::ExamRecord* record,
                const bool* replayed, const std::string& warnings_json,
                const std::string& outcome_json, std::string* out) {
  const auto& schema = FeatureSchema();
  out->reserve(out->size() + 1600);
  out->push_back('{');
  if (record != nullptr) {
    *out += "\"agreement\":{\"match\":";
    *out += in.agreement ? "true" : "false";
    *out += ",\"max_abs_diff\":";
    text::AppendShortest(in.max_abs_diff, out);
    *out += "},\"audit_seq\":";
    text::AppendInt(record->audit_seq, out);
    out->push_back(',');
  }
  *out += "\"client_exam_id\":";
  text::AppendJsonString(in.client_exam_id, out);
  *out += ",\"client_result\":";
  AppendResult(in.client_class, in.model_version, in.client_probabilities, 0, out);
  *out += ",\"client_time\":";
  text::AppendJsonString(in.client_timestamp, out);
  if (record != nullptr) {
    *out += ",\"content_sha256\":";
    text::AppendJsonString(record->content_sha256, out);
  }
  *out += ",\"features\":{";
  for (int i = 0; i < kNumFeatures; ++i) {
    if (i) out->push_back(',');
    text::AppendJsonString(schema[i].key, out);
    out->push_back(':');
    text::AppendShortest(in.features[i], out);
  }
  out->push_back('}');
  if (record != nullptr) {
    *out += ",\"id\":";
    text::AppendInt(record->id, out);
  }
  *out += ",\"note\":";
  text::AppendJsonString(in.note, out);
  if (!outcome_json.empty()) {
    *out += ",\"outcome\":";
    *out += outcome_json;
  }
  *out += ",\"patient_ref\":";
  text::AppendJsonString(in.patient_ref, out);
  if (record != nullptr) {
    *out += ",\"received_at\":";
    text::AppendJsonString(text::FormatTime(record->received_ms), out);
    *out += ",\"received_ms\":";
    text::AppendInt(record->received_ms, out);
    if (replayed != nullptr) {
      *out += ",\"replayed\":";
      *out += *replayed ? "true" : "false";
    }
  }
  // The client form carries it only when sent, so exams without one keep their idempotency
  // bytes; the stored form always (null when none was sent).
  if (!in.runtime_build.empty()) {
    *out += ",\"runtime_build\":";
    text::AppendJsonString(in.runtime_build, out);
  } else if (record != nullptr) {
    *out += ",\"runtime_build\":null";
  }
  if (record != nullptr) {
    *out += ",\"server_result\":";
    AppendResult(in.server_class, in.model_version, in.server_probabilities, in.server_set, out);
    *out += ",\"submitted_by\":";
    text::AppendJsonString(record->submitted_by, out);
    *out += ",\"submitted_by_id\":";
    text::AppendInt(record->submitted_by_id, out);
    if (!warnings_json.empty()) {
      *out += ",\"warnings\":";
      *out += warnings_json;
    }
  }
  out->push_back('}');
}

}  // namespace

void AppendExamJson(const storage::ExamRecord& exam, const bool* replayed,
                    const std::string& warnings_json, std::string* out) {
  AppendExam(exam.input, &exam, replayed, warnings_json, "", out);
}

void AppendExamJsonWithOutcome(const storage::ExamRecord& exam, const std::string& outcome_json,
                               std::string* out) {
  AppendExam(exam.input, &exam, nullptr, "", outcome_json, out);
}

std::string ClientExamJson(const storage::ExamInput& in) {
  std::string out;
  AppendExam(in, nullptr, nullptr, "", "", &out);
  return out;
}

}  // namespace server
}  // namespace fetal
