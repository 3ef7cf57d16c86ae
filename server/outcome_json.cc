#include "outcome_json.h"

#include <cmath>

#include "fetal/schema.h"
#include "text/excerpt.h"
#include "text/json_text.h"
#include "text/number_text.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;

constexpr char kReadingExpected[] = "Normal, Suspect or Pathological";

void Add(FieldErrors* errors, const std::string& field, const std::string& rule,
         const std::string& message, const std::string& expected, const json& value) {
  errors->Add(FieldError{field, rule, message, expected, ValueExcerpt(value)});
}

// A number in [lo, hi] (an integer when `integer`); appends the error otherwise.
bool DecodeNumber(const json& j, const char* key, double lo, double hi, bool integer,
                  const std::string& expected, double* out, bool* present, FieldErrors* errors) {
  *present = false;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  const bool is_number = it->is_number();
  const double v = is_number ? it->get<double>() : 0;
  const bool ok =
      is_number && std::isfinite(v) && v >= lo && v <= hi && (!integer || std::floor(v) == v);
  if (!ok) {
    Add(errors, key, is_number ? "range" : "type",
        std::string(key) + " must be " + expected + ", got " + ValueExcerptText(*it), expected,
        *it);
    return false;
  }
  *out = v;
  *present = true;
  return true;
}

}  // namespace

bool DecodeOutcome(const json& j, storage::OutcomeInput* out, FieldErrors* errors) {
  const size_t before = errors->count();
  if (!j.is_object()) {
    Add(errors, "", "type", "the request body must be a JSON object",
        "{\"final_reading\": \"Normal|Suspect|Pathological\", ...} (docs/api.md)", j);
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k != "final_reading" && k != "apgar_5min" && k != "umbilical_ph" && k != "base_deficit" &&
        k != "nicu_admission") {
      const std::string field = text::Excerpt(k);
      errors->Add(FieldError{field, "unknown_field", field + " is not a known outcome field",
                             "final_reading, apgar_5min, umbilical_ph, base_deficit, "
                             "nicu_admission",
                             nullptr});
    }
  }
  auto r = j.find("final_reading");
  if (r == j.end() || r->is_null()) {
    Add(errors, "final_reading", "required", "final_reading is missing", kReadingExpected, nullptr);
  } else if (!r->is_string() || ClassIndex(r->get<std::string>()) < 0) {
    Add(errors, "final_reading", "format",
        "final_reading must be " + std::string(kReadingExpected) + ", got " + ValueExcerptText(*r),
        kReadingExpected, *r);
  } else {
    out->final_reading = ClassIndex(r->get<std::string>());
  }
  double v = 0;
  bool present = false;
  if (DecodeNumber(j, "apgar_5min", 0, 10, true, "an integer from 0 to 10", &v, &present, errors) &&
      present) {
    out->apgar_5min = static_cast<int>(v);
  }
  if (DecodeNumber(j, "umbilical_ph", 6.5, 7.8, false, "a number from 6.5 to 7.8", &v, &present,
                   errors) &&
      present) {
    out->umbilical_ph = v;
  }
  if (DecodeNumber(j, "base_deficit", -5, 30, false, "a number from -5 to 30 (mmol/L)", &v,
                   &present, errors) &&
      present) {
    out->base_deficit = v;
  }
  auto n = j.find("nicu_admission");
  if (n != j.end() && !n->is_null()) {
    if (!n->is_boolean()) {
      Add(errors, "nicu_admission", "type",
          "nicu_admission must be true or false, got " + ValueExcerptText(*n), "true or false", *n);
    } else {
      out->nicu_admission = n->get<bool>();
    }
  }
  return errors->count() == before;
}

std::string OutcomeJson(const storage::OutcomeRecord& o, const bool* replayed) {
  std::string out = "{\"apgar_5min\":";
  if (o.input.apgar_5min) text::AppendInt(*o.input.apgar_5min, &out);
  else out += "null";
  out += ",\"audit_seq\":";
  text::AppendInt(o.audit_seq, &out);
  out += ",\"base_deficit\":";
  if (o.input.base_deficit) text::AppendShortest(*o.input.base_deficit, &out);
  else out += "null";
  out += ",\"content_sha256\":";
  text::AppendJsonString(o.content_sha256, &out);
  out += ",\"exam_id\":";
  text::AppendInt(o.exam_id, &out);
  out += ",\"final_reading\":";
  text::AppendJsonString(kClassNames[o.input.final_reading], &out);
  out += ",\"nicu_admission\":";
  out += o.input.nicu_admission ? (*o.input.nicu_admission ? "true" : "false") : "null";
  out += ",\"recorded_at\":";
  text::AppendJsonString(text::FormatTime(o.recorded_ms), &out);
  out += ",\"recorded_by\":";
  text::AppendJsonString(o.recorded_by, &out);
  out += ",\"recorded_by_id\":";
  text::AppendInt(o.recorded_by_id, &out);
  if (replayed) {
    out += ",\"replayed\":";
    out += *replayed ? "true" : "false";
  }
  out += ",\"umbilical_ph\":";
  if (o.input.umbilical_ph) text::AppendShortest(*o.input.umbilical_ph, &out);
  else out += "null";
  out += ",\"version\":";
  text::AppendInt(o.version, &out);
  out += '}';
  return out;
}

}  // namespace server
}  // namespace fetal
