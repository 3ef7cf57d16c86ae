#include "fetal/trainer/booster.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

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
  j += ",\"input_differences\":[";
  for (size_t i = 0; i < input_differences.size(); ++i) {
    j += std::string(i ? "," : "") + "[" + std::to_string(input_differences[i].input) + "," +
         std::to_string(input_differences[i].reference) + "]";
  }
  j += "]";
  j += ",\"calibrator\":\"" + std::string(CalibratorName(calibrator)) + "\"";
  j += ",\"inner_folds\":" + std::to_string(inner_folds);
  j += ",\"set_level\":" + FormatNumber(set_level);
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
  if (inner_folds < 2 || inner_folds > 20) return bad("inner_folds", "2..20");
  if (!(set_level > 0 && set_level < 1)) return bad("set_level", "in (0, 1)");
  if (!CheckInputDifferences(input_differences).ok()) {
    return bad("input_differences", "distinct features, none both re-expressed and a reference");
  }
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

std::vector<float> GatherInputs(const ExamTable& table, const std::vector<size_t>& rows,
                                const std::vector<InputDifference>& inputs) {
  std::vector<float> out = GatherFeatures(table, rows);
  for (size_t i = 0; i < rows.size(); ++i) {
    ModelInputs(inputs, &out[i * kNumFeatures], &out[i * kNumFeatures]);
  }
  return out;
}

Status Booster::Train(const ExamTable& table, const std::vector<size_t>& rows,
                      const TrainParams& params, std::unique_ptr<Booster>* out) {
  Status s = params.Check();
  if (!s.ok()) return s;
  if (rows.empty()) return Status::InvalidArgument("no training rows");
  SilenceXgboost();
  std::vector<float> features = GatherInputs(table, rows, params.input_differences);
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
  std::unique_ptr<Booster> booster(new Booster(handle, params.input_differences));
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
  std::vector<float> inputs(features, features + n * kNumFeatures);
  for (size_t i = 0; i < n; ++i) {
    ModelInputs(inputs_, &inputs[i * kNumFeatures], &inputs[i * kNumFeatures]);
  }
  DMatrixGuard data;
  FETAL_XGB(XGDMatrixCreateFromMat(inputs.data(), n, kNumFeatures, NAN, &data.handle));
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

}  // namespace trainer
}  // namespace fetal
