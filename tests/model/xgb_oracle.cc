#include "xgb_oracle.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <xgboost/c_api.h>

#include "fetal/csv.h"
#include "fetal/schema.h"

namespace fetal {
namespace testing {
namespace {

void Check(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "libxgboost %s failed: %s\n", what, XGBGetLastError());
    std::abort();
  }
}

std::string Number(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.17g", v);
  return buffer;
}

}  // namespace

Status LoadDataset(const std::string& path, Dataset* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  CsvOptions options;
  options.require_labels = true;
  ExamTable table;
  Status s = ParseExamCsv(text.str(), options, &table);
  if (!s.ok()) return s;
  if (!table.errors.empty()) {
    return Status::InvalidArgument(path + " line " + std::to_string(table.errors[0].line) + ": " +
                                   table.errors[0].message);
  }
  out->rows = table.rows;
  out->features = table.features;
  out->labels.assign(table.labels.begin(), table.labels.end());
  return Status::Ok();
}

XgbOracle::XgbOracle(const std::string& json) {
  Check(XGBoosterCreate(nullptr, 0, &booster_), "XGBoosterCreate");
  Check(XGBoosterLoadModelFromBuffer(booster_, json.data(), json.size()),
        "XGBoosterLoadModelFromBuffer");
  Check(XGBoosterSetParam(booster_, "nthread", "1"), "nthread");
}

XgbOracle::XgbOracle(const Dataset& data, const TrainParams& params) {
  DMatrixHandle train = nullptr;
  Check(XGDMatrixCreateFromMat(data.features.data(), data.rows, kNumFeatures, NAN, &train),
        "XGDMatrixCreateFromMat");
  Check(XGDMatrixSetFloatInfo(train, "label", data.labels.data(), data.rows), "set labels");
  Check(XGBoosterCreate(&train, 1, &booster_), "XGBoosterCreate");
  const std::pair<const char*, std::string> settings[] = {
      {"objective", "multi:softprob"},
      {"num_class", "3"},
      {"tree_method", "hist"},
      {"nthread", "1"},
      {"seed", "0"},
      {"max_depth", std::to_string(params.max_depth)},
      {"eta", Number(params.eta)},
      {"base_score", Number(params.base_score)},
      {"verbosity", "0"},
  };
  for (const auto& [name, value] : settings) {
    Check(XGBoosterSetParam(booster_, name, value.c_str()), name);
  }
  for (int i = 0; i < params.rounds; ++i) {
    Check(XGBoosterUpdateOneIter(booster_, i, train), "XGBoosterUpdateOneIter");
  }
  Check(XGDMatrixFree(train), "XGDMatrixFree");
}

XgbOracle::~XgbOracle() { XGBoosterFree(booster_); }

std::string XgbOracle::SaveJson() const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  Check(XGBoosterSaveModelToBuffer(booster_, "{\"format\": \"json\"}", &length, &bytes),
        "XGBoosterSaveModelToBuffer");
  return std::string(bytes, length);
}

std::vector<float> XgbOracle::Predict(const float* features, size_t n, Output output) const {
  DMatrixHandle matrix = nullptr;
  Check(XGDMatrixCreateFromMat(features, n, kNumFeatures, NAN, &matrix), "XGDMatrixCreateFromMat");
  const std::string config = "{\"type\": " + std::to_string(int(output)) +
                             ", \"training\": false, \"iteration_begin\": 0, "
                             "\"iteration_end\": 0, \"strict_shape\": false}";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  Check(XGBoosterPredictFromDMatrix(booster_, matrix, config.c_str(), &shape, &dims, &result),
        "XGBoosterPredictFromDMatrix");
  size_t total = 1;
  for (bst_ulong d = 0; d < dims; ++d) total *= shape[d];
  std::vector<float> values(result, result + total);
  Check(XGDMatrixFree(matrix), "XGDMatrixFree");
  return values;
}

void XgbOracle::PredictDenseWith(BoosterHandle booster, const float* features, size_t n,
                                 float* probabilities) {
  char array_interface[256];
  std::snprintf(array_interface, sizeof(array_interface),
                "{\"data\": [%llu, true], \"shape\": [%zu, %d], \"typestr\": \"<f4\", "
                "\"version\": 3}",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(features)), n,
                kNumFeatures);
  static const char kConfig[] =
      "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
      "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  Check(XGBoosterPredictFromDense(booster, array_interface, kConfig, nullptr, &shape, &dims,
                                  &result),
        "XGBoosterPredictFromDense");
  std::memcpy(probabilities, result, n * 3 * sizeof(float));
}

}  // namespace testing
}  // namespace fetal
