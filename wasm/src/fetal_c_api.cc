// The C ABI that wasm/js/fetal.js calls. See wasm/README.md for the calling convention.
//
// Why a C ABI and not embind: every call here is a plain function taking pointers into wasm
// memory, so the single-exam path is one JS->wasm call with no marshalling, and the module stays
// small. Numbers travel through caller-visible buffers (fixed scratch slots below, or buffers
// the wrapper allocated with malloc); lists and strings travel as JSON text built here.
//
// Text results: a function returning `const char*` returns NUL-terminated UTF-8 owned by this
// module, valid until the next call into the module. Nothing here throws or aborts on bad
// input: failures come back as JSON error objects or a 0/null return.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/csv.h"
#include "fetal/figo.h"
#include "fetal/model.h"
#include "fetal/schema.h"
#include "fetal/status.h"
#include "fetal/validator.h"
#include "json_writer.h"

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define FETAL_API extern "C" EMSCRIPTEN_KEEPALIVE
#else
#define FETAL_API extern "C"
#endif

namespace fetal::wasm {
namespace {

// Layout of the numbers fetal_classify writes (the wrapper mirrors these indices).
enum ClassifyNumber {
  kProbabilities = 0,     // 3 calibrated
  kRawProbabilities = 3,  // 3 softmax(margin)
  kMargins = 6,           // 3
  kClassIndex = 9,
  kOodDistance = 10,
  kOodThreshold = 11,
  kOodFlag = 12,
  kFigoClass = 13,
  kWarningCount = 14,
  kFigoFlagCount = 15,
  kOutOfRangeCount = 16,
  kPredictionSet = 17,  // bit c: class c is in the conformal set; 0 = the model has no sets
  kReferForReview = 18,
  kClassifyNumberCount = 19,
};

// Fixed scratch slots for the single-exam path: static storage, so no call allocates them and
// their addresses never move when memory grows.
struct Scratch {
  float exam[kNumFeatures];
  float probabilities[kNumClasses];
  float contributions[kNumClasses * kContributionsPerClass];
  double numbers[kClassifyNumberCount];
};
Scratch g_scratch;

JsonWriter g_text;  // backs every `const char*` result

struct LoadedModel {
  // Its explainer is built by the first fetal_classify, not at load: a cold page load runs that
  // as baseline code, and the first possible classification (fetal_predict) does not need it.
  std::unique_ptr<Classifier> classifier;
  std::string info_json;  // built once at load
};

struct CsvResult {
  ExamTable table;
  std::vector<uint32_t> lines;  // table.lines narrowed for JS (wasm32 size_t is 32-bit anyway)
  std::string errors_json;
  bool header_ok = false;  // false: the header cannot be used, errors say why, no rows
};

const char* StatusCodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid_argument";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kNotFound: return "not_found";
    case Status::Code::kIoError: return "io_error";
  }
  return "unknown";
}

void WriteError(const char* code, const std::string& message) {
  g_text.Clear();
  g_text.BeginObject().Key("code").String(code).Key("message").String(message).EndObject();
}

void WriteFinding(JsonWriter& w, const Finding& f) {
  const auto& schema = FeatureSchema();
  w.BeginObject();
  w.Key("feature").Int(f.feature);
  w.Key("key").String(f.feature >= 0 && f.feature < kNumFeatures ? schema[f.feature].key : "");
  w.Key("severity").String(f.severity == Severity::kError ? "error" : "warning");
  w.Key("rule").String(f.rule);
  w.Key("value").NumberOrString(f.value);
  w.Key("message").String(f.message);
  w.Key("expected").String(f.expected);
  w.Key("expectedMin").Number(f.expected_min);  // NaN/inf (open side) -> null
  w.Key("expectedMax").Number(f.expected_max);
  w.EndObject();
}

void WriteFindings(JsonWriter& w, const std::vector<Finding>& findings, bool warnings_only) {
  w.BeginArray();
  for (const Finding& f : findings) {
    if (!warnings_only || f.severity == Severity::kWarning) WriteFinding(w, f);
  }
  w.EndArray();
}

void WriteFloatArray(JsonWriter& w, const float* values, size_t n) {
  w.BeginArray();
  for (size_t i = 0; i < n; ++i) w.Number(values[i]);
  w.EndArray();
}

std::string BuildInfoJson(const Classifier& classifier, const uint8_t* data, size_t size) {
  const Model& m = classifier.model();
  JsonWriter w;
  w.BeginObject();
  w.Key("version").Int(m.model_version);
  w.Key("formatVersion").Int(m.format_version);
  w.Key("name").String(m.name);
  w.Key("created").String(m.created);
  w.Key("hash").String(BundleContentHash(data, size));
  w.Key("source").String(m.source);
  w.Key("temperature").Number(m.temperature);
  w.Key("figoRuleset").String(m.figo_ruleset);
  w.Key("trainingDataSha256").String(m.training_data_sha256);
  w.Key("params").String(m.params_json);
  w.Key("numTrees").Int(static_cast<long long>(m.trees.size()));
  w.Key("baseScore");
  WriteFloatArray(w, m.base_score.data(), kNumClasses);
  w.Key("classNames").BeginArray();
  for (auto name : kClassNames) w.String(name);
  w.EndArray();
  w.Key("metrics").BeginObject();
  w.Key("accuracy").Number(m.metrics.accuracy);
  w.Key("macroF1").Number(m.metrics.macro_f1);
  w.Key("balancedAccuracy").Number(m.metrics.balanced_accuracy);
  w.Key("logLoss").Number(m.metrics.log_loss);
  w.Key("brier").Number(m.metrics.brier);
  w.Key("ece").Number(m.metrics.ece);
  w.Key("recall").BeginArray();
  for (double r : m.metrics.recall) w.Number(r);
  w.EndArray();
  w.Key("splits").Int(m.metrics.splits);
  w.EndObject();
  w.Key("trainingRange").BeginObject();
  w.Key("min");
  WriteFloatArray(w, m.training_range.min.data(), kNumFeatures);
  w.Key("max");
  WriteFloatArray(w, m.training_range.max.data(), kNumFeatures);
  w.EndObject();
  if (classifier.has_ood_reference()) {
    w.Key("oodThreshold").Number(m.ood.threshold);
  } else {
    w.Key("oodThreshold").Null();
  }
  // [input, reference] pairs: that input is feature[input] - feature[reference].
  w.Key("inputDifferences").BeginArray();
  for (const InputDifference& d : m.input_differences) {
    w.BeginArray().Int(d.input).Int(d.reference).EndArray();
  }
  w.EndArray();
  w.Key("setLevel").Number(m.conformal.level);
  w.EndObject();
  return w.str();
}

}  // namespace
}  // namespace fetal::wasm

using namespace fetal;
using namespace fetal::wasm;

// ---- scratch slots (addresses are stable for the life of the module) ----

FETAL_API float* fetal_exam_buffer() { return g_scratch.exam; }
FETAL_API float* fetal_probability_buffer() { return g_scratch.probabilities; }
FETAL_API float* fetal_contribution_buffer() { return g_scratch.contributions; }
FETAL_API double* fetal_number_buffer() { return g_scratch.numbers; }

// The last text result (see the file comment for its lifetime).
FETAL_API const char* fetal_text() { return g_text.c_str(); }

// ---- schema ----

// {"schemaVersion":1,"classNames":[...],"features":[{index,key,name,label,unit,group,
// description,hardMin,hardMax,integer}...]}; static text, valid for the life of the module.
FETAL_API const char* fetal_schema_json() {
  static const std::string* text = [] {
    JsonWriter w;
    w.BeginObject();
    w.Key("schemaVersion").Int(kSchemaVersion);
    w.Key("classNames").BeginArray();
    for (auto name : kClassNames) w.String(name);
    w.EndArray();
    w.Key("features").BeginArray();
    const auto& schema = FeatureSchema();
    for (int i = 0; i < kNumFeatures; ++i) {
      const FeatureSpec& f = schema[i];
      w.BeginObject();
      w.Key("index").Int(i);
      w.Key("key").String(f.key);
      w.Key("name").String(f.name);
      w.Key("label").String(f.label);
      w.Key("unit").String(f.unit);
      w.Key("group").String(f.group);
      w.Key("description").String(f.description);
      w.Key("hardMin").Number(f.hard_min);
      w.Key("hardMax").Number(f.hard_max);
      w.Key("integer").Bool(f.integer);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return new std::string(w.str());
  }();
  return text->c_str();
}

// ---- models ----

// fetal_model_load flags.
constexpr uint32_t kContentHashVerified = 1;  // the caller compared the content hash itself

// Parses and compiles a bundle. Returns the model, or null with {"code","message"} in the text
// result. `data` is only read during the call; the caller may free it afterwards.
FETAL_API LoadedModel* fetal_model_load(const uint8_t* data, size_t size, uint32_t flags) {
  auto loaded = std::unique_ptr<LoadedModel>(new (std::nothrow) LoadedModel);
  if (!loaded) {
    WriteError("out_of_memory", "not enough memory to load the model");
    return nullptr;
  }
  if (data == nullptr || size == 0) {
    WriteError("invalid_argument", "the model bundle is empty (0 bytes)");
    return nullptr;
  }
  BundleReadOptions options;
  options.verify_content_hash = (flags & kContentHashVerified) == 0;
  Status s = Classifier::CreateFromBundle(data, size, options, &loaded->classifier);
  if (!s.ok()) {
    WriteError(StatusCodeName(s.code()), s.message());
    return nullptr;
  }
  loaded->info_json = BuildInfoJson(*loaded->classifier, data, size);
  return loaded.release();
}

FETAL_API void fetal_model_free(LoadedModel* model) { delete model; }

// Model metadata as JSON; valid until fetal_model_free(model).
FETAL_API const char* fetal_model_info_json(const LoadedModel* model) {
  return model->info_json.c_str();
}

// The fast path: calibrated probabilities of one exam. No validation, no allocation.
FETAL_API void fetal_predict(const LoadedModel* model, const float* exam, float* probabilities) {
  model->classifier->Predict(exam, probabilities);
}

// n exams (n * 21 floats, row-major) -> n * 3 calibrated probabilities. No allocation.
FETAL_API void fetal_predict_batch(const LoadedModel* model, const float* exams, size_t n,
                                   float* probabilities) {
  model->classifier->PredictBatch(exams, n, probabilities);
}

// n exams -> n * 3 * 22 TreeSHAP contributions (per class: one per model input, then the bias), as
// Classifier::ExplainBatch; rows are not validated. No allocation.
FETAL_API void fetal_explain_batch(const LoadedModel* model, const float* exams, size_t n,
                                   float* contributions) {
  model->classifier->ExplainBatch(exams, n, contributions);
}

// Findings for one exam as a JSON array. `model` may be null (no training-range warnings).
FETAL_API const char* fetal_validate(const float* exam, const LoadedModel* model) {
  std::vector<Finding> findings =
      ValidateExam(exam, model != nullptr ? &model->classifier->model().training_range : nullptr);
  g_text.Clear();
  WriteFindings(g_text, findings, /*warnings_only=*/false);
  return g_text.c_str();
}

// out[i] = 1 if exam i has a validation error (hard limits, cross-field rules), else 0.
FETAL_API void fetal_validate_batch(const float* exams, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = IsAcceptable(ValidateExam(exams + i * kNumFeatures, nullptr)) ? 0 : 1;
  }
}

// Full classification of one exam (Classifier::Classify): validation, probabilities, TreeSHAP,
// OOD, FIGO. Returns 1 when classified: numbers[] (ClassifyNumber layout) and contributions[66]
// are filled, and if any warning / FIGO flag / out-of-range feature exists the text result holds
// {"warnings":[...],"figo":[...],"outOfRange":[...]} (otherwise it is left untouched).
// Returns 0 when the exam has validation errors: the text result holds the findings array.
// -1 (with {"code","message"} in the text result) is kept in the ABI for a model whose explainer
// cannot be built; fetal_model_load refuses such models, so a loaded model never returns it.
FETAL_API int fetal_classify(const LoadedModel* model, const float* exam, double* numbers,
                             float* contributions) {
  Classification c;
  model->classifier->Classify(exam, ClassifyOptions(), &c);
  if (!c.classified) {
    g_text.Clear();
    WriteFindings(g_text, c.findings, /*warnings_only=*/false);
    return 0;
  }
  for (int k = 0; k < kNumClasses; ++k) {
    numbers[kProbabilities + k] = c.probabilities[k];
    numbers[kRawProbabilities + k] = c.raw_probabilities[k];
    numbers[kMargins + k] = c.margins[k];
  }
  numbers[kClassIndex] = c.predicted_class;
  numbers[kPredictionSet] = c.prediction_set;
  numbers[kReferForReview] = c.refer_for_review;
  std::copy(c.contributions.begin(), c.contributions.end(), contributions);

  numbers[kOodDistance] = c.ood.distance;
  numbers[kOodThreshold] = c.ood.threshold;
  numbers[kOodFlag] = c.ood.out_of_distribution ? 1 : 0;
  // Without a usable Mahalanobis reference the browser shows no OOD block at all: no distance,
  // no flag and no out-of-range list (the validator's training-range warnings still name them).
  const std::vector<int> none;
  const std::vector<int>& out_of_range = c.has_ood_reference ? c.ood.out_of_range : none;
  numbers[kFigoClass] = FigoClassIndex(c.figo.figo_class);

  const size_t warnings = c.warning_count();
  numbers[kWarningCount] = static_cast<double>(warnings);
  numbers[kFigoFlagCount] = static_cast<double>(c.figo.flags.size());
  numbers[kOutOfRangeCount] = static_cast<double>(out_of_range.size());
  if (warnings == 0 && c.figo.flags.empty() && out_of_range.empty()) return 1;

  g_text.Clear();
  g_text.BeginObject();
  g_text.Key("warnings");
  WriteFindings(g_text, c.findings, /*warnings_only=*/true);
  g_text.Key("figo").BeginArray();
  for (const FigoFlag& flag : c.figo.flags) {
    g_text.BeginObject();
    g_text.Key("id").String(flag.id);
    g_text.Key("level").String(FigoClassName(flag.level));
    g_text.Key("feature").Int(flag.feature);
    g_text.Key("value").NumberOrString(flag.value);
    g_text.Key("limit").NumberOrString(flag.limit);
    g_text.Key("message").String(flag.message);
    g_text.EndObject();
  }
  g_text.EndArray();
  g_text.Key("outOfRange").BeginArray();
  for (int feature : out_of_range) g_text.Int(feature);
  g_text.EndArray();
  g_text.EndObject();
  return 1;
}

// ---- CSV ----

// Parses CSV text (UTF-8, `size` bytes, need not be NUL-terminated). Returns null only when
// out of memory. Read the result with fetal_csv_info and release it with fetal_csv_free.
// Errors (header or rows) become the JSON array [{line,column,field,rule,value,firstColumn,
// maxRows,cells,headerCells,message}...], the fields of CsvRowError (fetal/csv.h).
FETAL_API CsvResult* fetal_csv_parse(const char* text, size_t size) {
  auto result = std::unique_ptr<CsvResult>(new (std::nothrow) CsvResult);
  if (!result) return nullptr;
  result->header_ok = ParseExamCsv(std::string_view(text, size), CsvOptions(), &result->table).ok();
  JsonWriter w;
  w.BeginArray();
  for (const CsvRowError& e : result->table.errors) {
    w.BeginObject();
    w.Key("line").Int(static_cast<long long>(e.line));
    w.Key("column").Int(e.column);
    w.Key("field").String(e.field);
    w.Key("rule").String(e.rule);
    w.Key("value").String(e.value);
    w.Key("firstColumn").Int(e.first_column);
    w.Key("maxRows").Int(static_cast<long long>(e.max_rows));
    w.Key("cells").Int(static_cast<long long>(e.cells));
    w.Key("headerCells").Int(static_cast<long long>(e.header_cells));
    w.Key("message").String(e.message);
    w.EndObject();
  }
  w.EndArray();
  result->errors_json = w.str();
  result->lines.assign(result->table.lines.begin(), result->table.lines.end());
  if (result->table.labels.size() != result->table.rows) {
    result->table.labels.assign(result->table.rows, -1);
  }
  return result.release();
}

// Returns [rows, features pointer, labels pointer, lines pointer, errors JSON pointer,
// has_labels, header_ok] in static storage overwritten by the next call. The pointers stay valid
// until fetal_csv_free(result).
FETAL_API const uintptr_t* fetal_csv_info(const CsvResult* result) {
  static uintptr_t out[7];
  out[0] = result->table.rows;
  out[1] = reinterpret_cast<uintptr_t>(result->table.features.data());
  out[2] = reinterpret_cast<uintptr_t>(result->table.labels.data());
  out[3] = reinterpret_cast<uintptr_t>(result->lines.data());
  out[4] = reinterpret_cast<uintptr_t>(result->errors_json.c_str());
  out[5] = result->table.has_labels ? 1 : 0;
  out[6] = result->header_ok ? 1 : 0;
  return out;
}

FETAL_API void fetal_csv_free(CsvResult* result) { delete result; }
