#include "fetal/trainer/trainer.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "fetal/bundle.h"
#include "fetal/figo.h"
#include "fetal/ood.h"

namespace fetal {
namespace trainer {
namespace {

Status XgbError(const char* call) {
  return Status::InvalidArgument(std::string("libxgboost ") + call +
                                 " failed: " + XGBGetLastError());
}

#define FETAL_XGB(call)                      \
  do {                                       \
    if ((call) != 0) return XgbError(#call); \
  } while (0)

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// Frees a DMatrix on every path.
struct DMatrixGuard {
  DMatrixHandle handle = nullptr;
  ~DMatrixGuard() {
    if (handle) XGDMatrixFree(handle);
  }
};

void SilenceXgboost() {
  static const bool once = [] {
    XGBSetGlobalConfig("{\"verbosity\":0}");
    return true;
  }();
  (void)once;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

std::string TrainParams::ToJson() const {
  std::string j = "{";
  j += "\"objective\":\"multi:softprob\",\"num_class\":3,\"tree_method\":\"hist\",\"nthread\":1";
  j += ",\"max_depth\":" + std::to_string(max_depth);
  j += ",\"eta\":" + FormatNumber(eta);
  j += ",\"rounds\":" + std::to_string(rounds);
  j += ",\"min_child_weight\":" + FormatNumber(min_child_weight);
  j += ",\"subsample\":" + FormatNumber(subsample);
  j += ",\"colsample_bytree\":" + FormatNumber(colsample_bytree);
  j += ",\"lambda\":" + FormatNumber(reg_lambda);
  j += ",\"alpha\":" + FormatNumber(reg_alpha);
  j += ",\"gamma\":" + FormatNumber(gamma);
  j += ",\"max_bin\":" + std::to_string(max_bin);
  j += ",\"class_weight\":[" + FormatNumber(class_weight[0]) + "," + FormatNumber(class_weight[1]) +
       "," + FormatNumber(class_weight[2]) + "]";
  j += ",\"temperature_folds\":" + std::to_string(temperature_folds);
  j += ",\"ood_quantile\":" + FormatNumber(ood_quantile);
  j += ",\"seed\":" + std::to_string(seed);
  j += "}";
  return j;
}

Status TrainParams::Check() const {
  auto bad = [](const char* name, const std::string& expected) {
    return Status::InvalidArgument(std::string(name) + " must be " + expected, name);
  };
  if (max_depth < 1 || max_depth > 16) return bad("max_depth", "an integer 1..16");
  if (!(eta > 0 && eta <= 1)) return bad("eta", "in (0, 1]");
  if (rounds < 1 || rounds > 5000) return bad("rounds", "an integer 1..5000");
  if (!(min_child_weight >= 0)) return bad("min_child_weight", ">= 0");
  if (!(subsample > 0 && subsample <= 1)) return bad("subsample", "in (0, 1]");
  if (!(colsample_bytree > 0 && colsample_bytree <= 1)) return bad("colsample_bytree", "in (0, 1]");
  if (!(reg_lambda >= 0)) return bad("lambda", ">= 0");
  if (!(reg_alpha >= 0)) return bad("alpha", ">= 0");
  if (!(gamma >= 0)) return bad("gamma", ">= 0");
  if (max_bin < 2 || max_bin > 4096) return bad("max_bin", "an integer 2..4096");
  for (double w : class_weight)
    if (!(w > 0 && std::isfinite(w))) return bad("class_weight", "three positive numbers");
  if (temperature_folds < 2 || temperature_folds > 20) return bad("temperature_folds", "2..20");
  if (!(ood_quantile > 0 && ood_quantile < 1)) return bad("ood_quantile", "in (0, 1)");
  return Status::Ok();
}

std::vector<float> GatherFeatures(const ExamTable& table, const std::vector<size_t>& rows) {
  std::vector<float> out(rows.size() * kNumFeatures);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(&table.features[rows[i] * kNumFeatures], kNumFeatures, &out[i * kNumFeatures]);
  }
  return out;
}

std::vector<int> GatherLabels(const ExamTable& table, const std::vector<size_t>& rows) {
  std::vector<int> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = table.labels[rows[i]];
  return out;
}

Status Booster::Train(const ExamTable& table, const std::vector<size_t>& rows,
                      const TrainParams& params, std::unique_ptr<Booster>* out) {
  Status s = params.Check();
  if (!s.ok()) return s;
  if (rows.empty()) return Status::InvalidArgument("no training rows");
  SilenceXgboost();
  std::vector<float> features = GatherFeatures(table, rows);
  std::vector<float> labels(rows.size()), weights(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    int y = table.labels[rows[i]];
    if (y < 0 || y >= kNumClasses) return Status::InvalidArgument("row without a label");
    labels[i] = static_cast<float>(y);
    weights[i] = static_cast<float>(params.class_weight[y]);
  }
  DMatrixGuard train;
  FETAL_XGB(XGDMatrixCreateFromMat(features.data(), rows.size(), kNumFeatures, NAN, &train.handle));
  FETAL_XGB(XGDMatrixSetFloatInfo(train.handle, "label", labels.data(), labels.size()));
  FETAL_XGB(XGDMatrixSetFloatInfo(train.handle, "weight", weights.data(), weights.size()));

  BoosterHandle handle = nullptr;
  FETAL_XGB(XGBoosterCreate(&train.handle, 1, &handle));
  std::unique_ptr<Booster> booster(new Booster(handle));
  const std::pair<const char*, std::string> settings[] = {
      {"objective", "multi:softprob"},
      {"num_class", std::to_string(kNumClasses)},
      {"tree_method", "hist"},
      {"nthread", "1"},
      {"seed", std::to_string(params.seed)},
      {"verbosity", "0"},
      {"max_depth", std::to_string(params.max_depth)},
      {"eta", FormatNumber(params.eta)},
      {"min_child_weight", FormatNumber(params.min_child_weight)},
      {"subsample", FormatNumber(params.subsample)},
      {"colsample_bytree", FormatNumber(params.colsample_bytree)},
      {"lambda", FormatNumber(params.reg_lambda)},
      {"alpha", FormatNumber(params.reg_alpha)},
      {"gamma", FormatNumber(params.gamma)},
      {"max_bin", std::to_string(params.max_bin)},
  };
  for (const auto& [name, value] : settings) {
    FETAL_XGB(XGBoosterSetParam(handle, name, value.c_str()));
  }
  for (int round = 0; round < params.rounds; ++round) {
    FETAL_XGB(XGBoosterUpdateOneIter(handle, round, train.handle));
  }
  *out = std::move(booster);
  return Status::Ok();
}

Booster::~Booster() {
  if (handle_) XGBoosterFree(handle_);
}

Status Booster::PredictMargins(const float* features, size_t n, int rounds,
                               std::vector<float>* margins) const {
  margins->assign(n * kNumClasses, 0.0f);
  if (n == 0) return Status::Ok();
  DMatrixGuard data;
  FETAL_XGB(XGDMatrixCreateFromMat(features, n, kNumFeatures, NAN, &data.handle));
  std::string config = "{\"type\":1,\"training\":false,\"iteration_begin\":0,\"iteration_end\":" +
                       std::to_string(rounds) + ",\"strict_shape\":false}";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  FETAL_XGB(
      XGBoosterPredictFromDMatrix(handle_, data.handle, config.c_str(), &shape, &dims, &result));
  bst_ulong total = 1;
  for (bst_ulong d = 0; d < dims; ++d) total *= shape[d];
  if (total != n * kNumClasses) {
    return Status::InvalidArgument("libxgboost returned " + std::to_string(total) +
                                   " margins for " + std::to_string(n) + " rows");
  }
  std::copy_n(result, total, margins->data());
  return Status::Ok();
}

Status Booster::SaveJson(std::string* json) const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  FETAL_XGB(XGBoosterSaveModelToBuffer(handle_, "{\"format\":\"json\"}", &length, &bytes));
  json->assign(bytes, length);
  return Status::Ok();
}

Status OutOfFoldMargins(const ExamTable& table, const std::vector<size_t>& rows,
                        const TrainParams& params, std::vector<float>* margins) {
  const int k = params.temperature_folds;
  std::vector<int> fold = StratifiedFolds(table, rows, k, params.seed);
  margins->assign(rows.size() * kNumClasses, 0.0f);
  for (int f = 0; f < k; ++f) {
    std::vector<size_t> train, held_out_positions, held_out;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (fold[i] == f) {
        held_out_positions.push_back(i);
        held_out.push_back(rows[i]);
      } else {
        train.push_back(rows[i]);
      }
    }
    if (held_out.empty()) continue;
    std::unique_ptr<Booster> booster;
    Status s = Booster::Train(table, train, params, &booster);
    if (!s.ok()) return s;
    std::vector<float> features = GatherFeatures(table, held_out), fold_margins;
    s = booster->PredictMargins(features.data(), held_out.size(), 0, &fold_margins);
    if (!s.ok()) return s;
    for (size_t j = 0; j < held_out.size(); ++j) {
      std::copy_n(&fold_margins[j * kNumClasses], kNumClasses,
                  &(*margins)[held_out_positions[j] * kNumClasses]);
    }
  }
  return Status::Ok();
}

double FitTemperature(const float* margins, const int* labels, size_t n) {
  auto loss = [&](double log_t) {
    return LogLossAtTemperature(margins, labels, n, std::exp(log_t));
  };
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(1.0 / 20), b = std::log(20.0);
  double c = b - golden * (b - a), d = a + golden * (b - a);
  double fc = loss(c), fd = loss(d);
  while (b - a > 1e-7) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - golden * (b - a);
      fc = loss(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + golden * (b - a);
      fd = loss(d);
    }
  }
  return std::exp((a + b) / 2);
}

Status ResolveCreatedTime(const std::string& flag, std::string* iso8601) {
  if (!flag.empty()) {
    int y, mo, d, h, mi, s;
    char z = 0;
    int consumed = 0;
    if (std::sscanf(flag.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &y, &mo, &d, &h, &mi, &s, &z,
                    &consumed) != 7 ||
        z != 'Z' || consumed != static_cast<int>(flag.size()) || flag.size() != 20 || mo < 1 ||
        mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
      return Status::InvalidArgument(
          "--created must be ISO 8601 UTC like 2026-11-28T00:00:00Z, got \"" + flag + "\"",
          "--created");
    }
    *iso8601 = flag;
    return Status::Ok();
  }
  std::time_t when;
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch && *epoch) {
    char* end = nullptr;
    errno = 0;
    long long seconds = std::strtoll(epoch, &end, 10);
    if (*end != '\0' || errno != 0 || seconds < 0 || seconds > 253402300799LL) {
      return Status::InvalidArgument(
          std::string("SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01, got \"") + epoch +
              "\"",
          "SOURCE_DATE_EPOCH");
    }
    when = static_cast<std::time_t>(seconds);
  } else {
    when = std::time(nullptr);
  }
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  *iso8601 = buf;
  return Status::Ok();
}

Status TrainModel(const Dataset& data, const TrainParams& params, const std::string& created,
                  const ModelMetrics* metrics, Model* out, TrainSummary* summary) {
  auto start = std::chrono::steady_clock::now();
  Status s = params.Check();
  if (!s.ok()) return s;
  const ExamTable& table = data.table;
  std::vector<size_t> all = AllRows(table);
  std::vector<size_t> rows = DeduplicateRows(table, all);
  TrainSummary local;
  local.input_rows = table.rows;
  local.training_rows = rows.size();
  local.duplicates_removed = table.rows - rows.size();
  {
    size_t k = 0;
    for (size_t r = 0; r < table.rows; ++r) {
      if (k < rows.size() && rows[k] == r) {
        ++k;
      } else {
        local.removed_rows.push_back(r);
      }
    }
  }

  std::unique_ptr<Booster> booster;
  s = Booster::Train(table, rows, params, &booster);
  if (!s.ok()) return s;
  std::string json;
  s = booster->SaveJson(&json);
  if (!s.ok()) return s;

  Model model;
  s = ImportXgboostJson(json, &model);
  if (!s.ok()) return Status::InvalidArgument("importing the trained booster: " + s.message());

  std::vector<float> oof;
  s = OutOfFoldMargins(table, rows, params, &oof);
  if (!s.ok()) return s;
  std::vector<int> labels = GatherLabels(table, rows);
  model.temperature = FitTemperature(oof.data(), labels.data(), rows.size());

  std::vector<float> features = GatherFeatures(table, rows);
  s = FitOodReference(features.data(), rows.size(), params.ood_quantile, &model);
  if (!s.ok()) return s;

  model.created = created;
  model.training_data_sha256 = data.sha256;
  model.figo_ruleset = kFigoRuleSetVersion;
  model.source = "fetal-model train";
  model.params_json = params.ToJson();
  if (metrics) model.metrics = *metrics;
  s = CheckModel(model);
  if (!s.ok()) return s;
  *out = std::move(model);
  local.seconds = Seconds(start);
  if (summary) *summary = std::move(local);
  return Status::Ok();
}

Status CrossValidate(const Dataset& data, const std::vector<CvSplit>& splits,
                     const TrainParams& params, CvResult* out,
                     const std::function<void(const CvSplitResult&)>& on_split) {
  auto start = std::chrono::steady_clock::now();
  Status s = params.Check();
  if (!s.ok()) return s;
  const ExamTable& table = data.table;
  out->splits.clear();
  for (const CvSplit& split : splits) {
    for (size_t r : split.test)
      if (r >= table.rows) return Status::InvalidArgument("fold row out of range");
    for (size_t r : split.train)
      if (r >= table.rows) return Status::InvalidArgument("fold row out of range");
    CvSplitResult result;
    result.repeat = split.repeat;
    result.fold = split.fold;
    // Drop duplicate training rows and training rows identical to a test row (leakage).
    std::vector<size_t> train = DeduplicateRows(table, split.train, split.test);
    result.train_rows = train.size();
    result.train_rows_removed = split.train.size() - train.size();

    std::vector<float> oof;
    s = OutOfFoldMargins(table, train, params, &oof);
    if (!s.ok()) return s;
    std::vector<int> train_labels = GatherLabels(table, train);
    result.temperature = FitTemperature(oof.data(), train_labels.data(), train.size());

    std::unique_ptr<Booster> booster;
    s = Booster::Train(table, train, params, &booster);
    if (!s.ok()) return s;
    std::vector<float> test_features = GatherFeatures(table, split.test), margins;
    s = booster->PredictMargins(test_features.data(), split.test.size(), 0, &margins);
    if (!s.ok()) return s;
    result.test_rows = split.test;
    result.probabilities.resize(margins.size());
    SoftmaxWithTemperature(margins.data(), split.test.size(), result.temperature,
                           result.probabilities.data());
    std::vector<int> test_labels = GatherLabels(table, split.test);
    result.metrics =
        ComputeMetrics(result.probabilities.data(), test_labels.data(), split.test.size());
    out->splits.push_back(std::move(result));
    if (on_split) on_split(out->splits.back());
  }
  out->seconds = Seconds(start);
  return Status::Ok();
}

ModelMetrics SummarizeForBundle(const CvResult& cv) {
  ModelMetrics m;
  m.splits = static_cast<int>(cv.splits.size());
  if (cv.splits.empty()) return m;
  for (const CvSplitResult& split : cv.splits) {
    const ClassificationMetrics& x = split.metrics;
    m.accuracy += x.accuracy;
    m.macro_f1 += x.macro_f1;
    m.balanced_accuracy += x.balanced_accuracy;
    m.log_loss += x.log_loss;
    m.brier += x.brier;
    m.ece += x.ece;
    for (int c = 0; c < kNumClasses; ++c) m.recall[c] += x.recall[c];
  }
  const double n = static_cast<double>(cv.splits.size());
  m.accuracy /= n;
  m.macro_f1 /= n;
  m.balanced_accuracy /= n;
  m.log_loss /= n;
  m.brier /= n;
  m.ece /= n;
  for (double& r : m.recall) r /= n;
  return m;
}

}  // namespace trainer
}  // namespace fetal
