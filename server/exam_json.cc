#include "exam_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "fetal/schema.h"
#include "fetal/sha256.h"

namespace fetal {
namespace server {

using nlohmann::json;

namespace {

constexpr size_t kMaxExamIdBytes = 128;
constexpr size_t kMaxPatientRefBytes = 128;
constexpr size_t kMaxNoteBytes = 4000;

void Add(std::vector<FieldError>* errors, std::string field, std::string rule, std::string message,
         std::string expected, json value = nullptr) {
  errors->push_back(FieldError{std::move(field), std::move(rule), std::move(message),
                               std::move(expected), std::move(value)});
}

const char* TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
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

void DecodeOptionalString(const json& j, const char* key, size_t max_bytes, const std::string& prefix,
                          std::string* out, std::vector<FieldError>* errors) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  std::string field = prefix + key;
  if (!it->is_string()) {
    Add(errors, field, "type", field + " must be a string, got " + TypeName(*it), "a string", *it);
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
  *out = s;
}

void DecodeClientResult(const json& r, const std::string& prefix, storage::ExamInput* out,
                        std::vector<FieldError>* errors) {
  const std::string base = prefix + "client_result";
  if (!r.is_object()) {
    Add(errors, base, "type", base + " must be an object, got " + TypeName(r),
        "{\"class\", \"probabilities\", \"model_version\"}", r);
    return;
  }
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (it.key() != "class" && it.key() != "probabilities" && it.key() != "model_version") {
      Add(errors, base + "." + it.key(), "unknown_field",
          base + "." + it.key() + " is not a known field",
          "only class, probabilities and model_version");
    }
  }
  // class
  auto c = r.find("class");
  if (c == r.end()) {
    Add(errors, base + ".class", "required", base + ".class is missing",
        "\"Normal\", \"Suspect\" or \"Pathological\"");
  } else if (!c->is_string() || ClassIndex(c->get<std::string>()) < 0) {
    Add(errors, base + ".class", "enum",
        base + ".class must be \"Normal\", \"Suspect\" or \"Pathological\", got " + c->dump(),
        "\"Normal\", \"Suspect\" or \"Pathological\"", *c);
  } else {
    out->client_class = ClassIndex(c->get<std::string>());
  }
  // probabilities
  const std::string pfield = base + ".probabilities";
  const std::string pexpected = "an array of 3 numbers in [0, 1] (Normal, Suspect, Pathological) summing to 1";
  auto p = r.find("probabilities");
  if (p == r.end()) {
    Add(errors, pfield, "required", pfield + " is missing", pexpected);
  } else if (!p->is_array() || p->size() != static_cast<size_t>(kNumClasses)) {
    Add(errors, pfield, "type", pfield + " must be " + pexpected + ", got " + p->dump(), pexpected, *p);
  } else {
    double sum = 0;
    bool ok = true;
    for (int k = 0; k < kNumClasses; ++k) {
      const json& v = (*p)[k];
      if (!v.is_number()) {
        Add(errors, pfield + "[" + std::to_string(k) + "]", "type",
            pfield + "[" + std::to_string(k) + "] must be a number, got " + TypeName(v),
            "a number in [0, 1]", v);
        ok = false;
        continue;
      }
      double x = v.get<double>();
      if (!std::isfinite(x) || x < 0 || x > 1) {
        Add(errors, pfield + "[" + std::to_string(k) + "]", "range",
            pfield + "[" + std::to_string(k) + "] is " + v.dump() + "; a probability is in [0, 1]",
            "a number in [0, 1]", v);
        ok = false;
        continue;
      }
      out->client_probabilities[k] = x;
      sum += x;
    }
    if (ok && std::fabs(sum - 1.0) > 1e-3) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", sum);
      Add(errors, pfield, "sum", pfield + " sums to " + buf + "; probabilities must sum to 1 (within 0.001)",
          pexpected, *p);
    }
  }
  // model_version
  auto m = r.find("model_version");
  if (m == r.end()) {
    Add(errors, base + ".model_version", "required", base + ".model_version is missing",
        "the registry version of the model that produced the result, an integer >= 1");
  } else if (!m->is_number_integer() || m->get<int64_t>() < 1) {
    Add(errors, base + ".model_version", "type",
        base + ".model_version must be an integer >= 1, got " + m->dump(), "an integer >= 1", *m);
  } else {
    out->model_version = m->get<int64_t>();
  }
}

}  // namespace

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
                std::vector<FieldError>* errors) {
  const size_t errors_before = errors->size();
  const std::string where = prefix.empty() ? "the request body" : prefix.substr(0, prefix.size() - 1);
  if (!j.is_object()) {
    Add(errors, prefix.empty() ? "" : where, "type", where + " must be a JSON object, got " + TypeName(j),
        "an exam object (docs/api.md)");
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k != "client_exam_id" && k != "features" && k != "client_result" && k != "patient_ref" &&
        k != "note" && k != "client_time") {
      Add(errors, prefix + k, "unknown_field", prefix + k + " is not a known exam field",
          "client_exam_id, features, client_result, client_time, patient_ref, note");
    }
  }
  // client_exam_id
  const std::string id_expected = "1 to 128 characters from A-Z a-z 0-9 - _ . : (e.g. a UUID)";
  auto id = j.find("client_exam_id");
  if (id == j.end()) {
    Add(errors, prefix + "client_exam_id", "required", prefix + "client_exam_id is missing", id_expected);
  } else if (!id->is_string() || !ValidExamId(id->get<std::string>())) {
    Add(errors, prefix + "client_exam_id", "format",
        prefix + "client_exam_id must be " + id_expected + ", got " + id->dump(), id_expected, *id);
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
    Add(errors, prefix + "features", "type", prefix + "features must be an object, got " + TypeName(*f),
        "an object with the 21 features by key (docs/api.md)");
  } else {
    for (auto it = f->begin(); it != f->end(); ++it) {
      if (FeatureIndex(it.key()) < 0 || schema[FeatureIndex(it.key())].key != it.key()) {
        Add(errors, prefix + "features." + it.key(), "unknown_field",
            prefix + "features." + it.key() + " is not a feature key",
            "one of the 21 keys such as baseline_value (docs/api.md)");
      }
    }
    for (int i = 0; i < kNumFeatures; ++i) {
      const std::string key(schema[i].key);
      const std::string field = prefix + "features." + key;
      const std::string expected = "a number" + (schema[i].unit.empty() ? std::string() : " in " + std::string(schema[i].unit));
      auto v = f->find(key);
      if (v == f->end()) {
        Add(errors, field, "required", field + " is missing (" + std::string(schema[i].name) + ")", expected);
      } else if (!v->is_number()) {
        Add(errors, field, "type", field + " must be a number, got " + TypeName(*v), expected, *v);
      } else {
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
  } else if (!t->is_string() || !ParseTime(t->get<std::string>(), &ms)) {
    Add(errors, prefix + "client_time", "format",
        prefix + "client_time must be " + t_expected + ", got " + t->dump(), t_expected, *t);
  } else {
    out->client_timestamp = t->get<std::string>();
  }
  DecodeOptionalString(j, "patient_ref", kMaxPatientRefBytes, prefix, &out->patient_ref, errors);
  DecodeOptionalString(j, "note", kMaxNoteBytes, prefix, &out->note, errors);

  if (errors->size() != errors_before) return false;
  const std::string canonical = CanonicalExamText(*out);
  out->body_sha256 = Sha256Hex(canonical.data(), canonical.size());
  return true;
}

void FindingsToErrors(const std::vector<Finding>& findings, const std::string& prefix,
                      std::vector<FieldError>* errors) {
  const auto& schema = FeatureSchema();
  for (const Finding& f : findings) {
    if (f.severity != Severity::kError) continue;
    std::string field = prefix + "features";
    if (f.feature >= 0 && f.feature < kNumFeatures) field += "." + std::string(schema[f.feature].key);
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
    if (f.feature >= 0 && f.feature < kNumFeatures) w["field"] = "features." + std::string(schema[f.feature].key);
    if (std::isfinite(f.value)) w["value"] = f.value;
    out.push_back(std::move(w));
  }
  return out;
}

json ExamToJson(const storage::ExamRecord& exam) {
  const auto& schema = FeatureSchema();
  const storage::ExamInput& in = exam.input;
  json features = json::object();
  for (int i = 0; i < kNumFeatures; ++i) features[std::string(schema[i].key)] = in.features[i];
  auto cls = [](int k) -> json {
    return k >= 0 && k < kNumClasses ? json(std::string(kClassNames[k])) : json(nullptr);
  };
  json j = {
      {"id", exam.id},
      {"client_exam_id", in.client_exam_id},
      {"submitted_by", exam.submitted_by},
      {"received_at", FormatTime(exam.received_ms)},
      {"received_ms", exam.received_ms},
      {"client_time", in.client_timestamp},
      {"patient_ref", in.patient_ref},
      {"note", in.note},
      {"features", std::move(features)},
      {"client_result",
       {{"class", cls(in.client_class)},
        {"probabilities", in.client_probabilities},
        {"model_version", in.model_version}}},
      {"server_result",
       {{"class", cls(in.server_class)},
        {"probabilities", in.server_probabilities},
        {"model_version", in.model_version}}},
      {"agreement", {{"match", in.agreement}, {"max_abs_diff", in.max_abs_diff}}},
      {"audit_seq", exam.audit_seq},
      {"content_sha256", exam.content_sha256},
  };
  return j;
}

namespace {

void AppendString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          *out += buf;
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Shortest text that reads back as the same double (what nlohmann prints, minus a trailing ".0").
void AppendNumber(double v, std::string* out) {
  if (!std::isfinite(v)) {
    *out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendClass(int k, std::string* out) {
  if (k >= 0 && k < kNumClasses) AppendString(kClassNames[k], out);
  else *out += "null";
}

void AppendProbabilities(const std::array<double, kNumClasses>& p, std::string* out) {
  out->push_back('[');
  for (int k = 0; k < kNumClasses; ++k) {
    if (k) out->push_back(',');
    AppendNumber(p[k], out);
  }
  out->push_back(']');
}

}  // namespace

void AppendExamJson(const storage::ExamRecord& exam, const bool* replayed, const std::string& warnings_json,
                    std::string* out) {
  const storage::ExamInput& in = exam.input;
  const auto& schema = FeatureSchema();
  out->reserve(out->size() + 1600);
  *out += "{\"agreement\":{\"match\":";
  *out += in.agreement ? "true" : "false";
  *out += ",\"max_abs_diff\":";
  AppendNumber(in.max_abs_diff, out);
  *out += "},\"audit_seq\":";
  AppendInt(exam.audit_seq, out);
  *out += ",\"client_exam_id\":";
  AppendString(in.client_exam_id, out);
  *out += ",\"client_result\":{\"class\":";
  AppendClass(in.client_class, out);
  *out += ",\"model_version\":";
  AppendInt(in.model_version, out);
  *out += ",\"probabilities\":";
  AppendProbabilities(in.client_probabilities, out);
  *out += "},\"client_time\":";
  AppendString(in.client_timestamp, out);
  *out += ",\"content_sha256\":";
  AppendString(exam.content_sha256, out);
  *out += ",\"features\":{";
  for (int i = 0; i < kNumFeatures; ++i) {
    if (i) out->push_back(',');
    AppendString(schema[i].key, out);
    out->push_back(':');
    AppendNumber(in.features[i], out);
  }
  *out += "},\"id\":";
  AppendInt(exam.id, out);
  *out += ",\"note\":";
  AppendString(in.note, out);
  *out += ",\"patient_ref\":";
  AppendString(in.patient_ref, out);
  *out += ",\"received_at\":";
  AppendString(FormatTime(exam.received_ms), out);
  *out += ",\"received_ms\":";
  AppendInt(exam.received_ms, out);
  if (replayed != nullptr) {
    *out += ",\"replayed\":";
    *out += *replayed ? "true" : "false";
  }
  *out += ",\"server_result\":{\"class\":";
  AppendClass(in.server_class, out);
  *out += ",\"model_version\":";
  AppendInt(in.model_version, out);
  *out += ",\"probabilities\":";
  AppendProbabilities(in.server_probabilities, out);
  *out += "},\"submitted_by\":";
  AppendString(exam.submitted_by, out);
  if (!warnings_json.empty()) {
    *out += ",\"warnings\":";
    *out += warnings_json;
  }
  out->push_back('}');
}

std::string CanonicalExamText(const storage::ExamInput& in) {
  const auto& schema = FeatureSchema();
  std::string out;
  out.reserve(1024);
  out += "{\"client_exam_id\":";
  AppendString(in.client_exam_id, &out);
  out += ",\"client_result\":{\"class\":";
  AppendClass(in.client_class, &out);
  out += ",\"model_version\":";
  AppendInt(in.model_version, &out);
  out += ",\"probabilities\":";
  AppendProbabilities(in.client_probabilities, &out);
  out += "},\"client_time\":";
  AppendString(in.client_timestamp, &out);
  out += ",\"features\":{";
  for (int i = 0; i < kNumFeatures; ++i) {
    if (i) out.push_back(',');
    AppendString(schema[i].key, &out);
    out.push_back(':');
    AppendNumber(in.features[i], &out);
  }
  out += "},\"note\":";
  AppendString(in.note, &out);
  out += ",\"patient_ref\":";
  AppendString(in.patient_ref, &out);
  out.push_back('}');
  return out;
}

json AuditEventToJson(const storage::AuditEvent& e) {
  return json{{"seq", e.seq},
              {"time", FormatTime(e.time_ms)},
              {"time_ms", e.time_ms},
              {"actor", {{"name", e.entry.actor.name}, {"role", e.entry.actor.role}}},
              {"request_id", e.entry.actor.request_id},
              {"action", e.entry.action},
              {"object", e.entry.object},
              {"outcome", e.entry.outcome},
              {"details", e.entry.details},
              {"prev_hash", e.prev_hash},
              {"hash", e.hash}};
}

json TokenToJson(const storage::TokenRecord& t) {
  json j = {{"id", t.id},
            {"name", t.name},
            {"role", t.role},
            {"created_at", FormatTime(t.created_ms)},
            {"revoked", t.revoked}};
  if (t.revoked) j["revoked_at"] = FormatTime(t.revoked_ms);
  return j;
}

json ModelMetadata(const Model& model, size_t bundle_size) {
  const ModelMetrics& m = model.metrics;
  return json{{"name", model.name},
              {"created", model.created},
              {"source", model.source},
              {"format_version", model.format_version},
              {"bundle_version", model.model_version},
              {"training_data_sha256", model.training_data_sha256},
              {"figo_ruleset", model.figo_ruleset},
              {"trees", model.trees.size()},
              {"size", bundle_size},
              {"metrics",
               {{"accuracy", m.accuracy},
                {"macro_f1", m.macro_f1},
                {"balanced_accuracy", m.balanced_accuracy},
                {"log_loss", m.log_loss},
                {"brier", m.brier},
                {"ece", m.ece},
                {"recall", m.recall},
                {"splits", m.splits}}}};
}

json ModelRecordToJson(const storage::ModelRecord& r) {
  json meta = json::parse(r.metadata_json, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) meta = json::object();
  json j = {{"version", r.version},
            {"sha256", r.sha256},
            {"active", r.active},
            {"registered_at", FormatTime(r.created_ms)},
            {"signed", !r.signature.empty()}};
  for (auto it = meta.begin(); it != meta.end(); ++it) {
    if (!j.contains(it.key())) j[it.key()] = it.value();
  }
  return j;
}

std::string FormatTime(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

bool ParseTime(const std::string& s, int64_t* ms) {
  // YYYY-MM-DDTHH:MM:SS
  auto digits = [&](size_t pos, size_t n, int* v) {
    if (pos + n > s.size()) return false;
    int x = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
  };
  int year, mon, day, hour, min, sec;
  if (!digits(0, 4, &year) || s.size() < 20 || s[4] != '-' || !digits(5, 2, &mon) || s[7] != '-' ||
      !digits(8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, &hour) ||
      s[13] != ':' || !digits(14, 2, &min) || s[16] != ':' || !digits(17, 2, &sec)) {
    return false;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return false;
  size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return false;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  struct tm tm = {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  *ms = (static_cast<int64_t>(t) - offset_min * 60LL) * 1000 + millis;
  return true;
}

}  // namespace server
}  // namespace fetal
