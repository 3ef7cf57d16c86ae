// Test oracle: libxgboost (C API) trained in-process on the project's dataset, so the evaluator,
// explainer and importer can be compared with the reference implementation on every row.
// Shared by tests/model/parity_test.cc and bench/model.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fetal/status.h"

typedef void* BoosterHandle;  // same as xgboost/c_api.h

namespace fetal {
namespace testing {

// The dataset as XGBoost sees it: row-major features (schema order) and labels 0..2.
struct Dataset {
  size_t rows = 0;
  std::vector<float> features;
  std::vector<float> labels;
};

// Reads `path` (the project's fetal_health.csv layout) with ParseExamCsv.
Status LoadDataset(const std::string& path, Dataset* out);

struct TrainParams {
  int max_depth = 6;
  double eta = 0.3;
  int rounds = 200;
  double base_score = 0.5;
};

// A trained booster. Single-threaded (nthread=1) for training and prediction, seed 0,
// multi:softprob with 3 classes, tree_method=hist.
class XgbOracle {
 public:
  // Aborts the test program on failure (XGBoost's C API reports errors as strings).
  XgbOracle(const Dataset& data, const TrainParams& params);
  // A booster trained elsewhere, from its XGBoost JSON (e.g. the trainer's); predicts on one
  // thread.
  explicit XgbOracle(const std::string& json);
  ~XgbOracle();
  XgbOracle(const XgbOracle&) = delete;
  XgbOracle& operator=(const XgbOracle&) = delete;

  // The model as XGBoost's JSON (what save_model writes to a .json file).
  std::string SaveJson() const;

  enum class Output { kProbabilities = 0, kMargins = 1, kContributions = 2 };
  // Predicts n rows (NaN = missing) through a DMatrix, as XGBoosterPredictFromDMatrix does.
  // Result: n * 3 values, or n * 3 * 22 for contributions.
  std::vector<float> Predict(const float* features, size_t n, Output output) const;
  // In-place prediction (XGBoosterPredictFromDense); writes n * 3 probabilities.
  void PredictDense(const float* features, size_t n, float* probabilities) const {
    PredictDenseWith(booster_, features, n, probabilities);
  }
  // The same for any booster handle (the benchmark loads boosters of its own). Aborts on failure.
  static void PredictDenseWith(BoosterHandle booster, const float* features, size_t n,
                               float* probabilities);

  BoosterHandle handle() const { return booster_; }

 private:
  BoosterHandle booster_ = nullptr;
};

}  // namespace testing
}  // namespace fetal
