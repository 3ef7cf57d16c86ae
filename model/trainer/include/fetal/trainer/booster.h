// Training parameters and the libxgboost booster (C API): XGBoost multi:softprob boosters on
// the model inputs the parameters name.
//
// Deterministic: one thread and a fixed seed per booster.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fetal/model.h"
#include "fetal/status.h"
#include "fetal/trainer/calibration.h"
#include "fetal/trainer/dataset.h"

namespace fetal {
namespace trainer {

// Training parameters: the base of the recipe search (search.h), and with `--search fixed`
// exactly what is trained. The defaults are what the default search chose on every training
// row (docs/training.md): histogram mean and median relative to the baseline, class weights
// 1,3,5, depth-5 trees, 300 rounds, temperature.
struct TrainParams {
  int max_depth = 5;
  double eta = 0.05;
  int rounds = 300;  // boosting rounds; each adds one tree per class
  double min_child_weight = 2;
  double subsample = 0.8;         // rows sampled per tree (seeded: deterministic)
  double colsample_bytree = 0.8;  // features sampled per tree
  double reg_lambda = 1;          // XGBoost "lambda" (L2 on leaf weights)
  double reg_alpha = 0;           // XGBoost "alpha" (L1)
  double gamma = 0;               // minimum loss reduction to split
  int max_bin = 256;
  // Per-class sample weights (Normal, Suspect, Pathological), set as the DMatrix "weight".
  std::array<double, kNumClasses> class_weight = {1, 3, 5};
  // The model's inputs (model.h InputDifference): what the trees split on. Default: histogram
  // mean and median relative to the baseline.
  std::vector<InputDifference> input_differences = {{17, 0}, {18, 0}};
  Calibrator calibrator = Calibrator::kTemperature;
  int inner_folds = 5;         // K of the inner cross-validation (search, calibration, sets)
  double set_level = 0.95;     // conformal prediction sets' coverage level
  double ood_quantile = 0.99;  // training-distance quantile used as the OOD threshold
  uint64_t seed = 0;

  // Canonical JSON object (fixed key order and number formatting), stored in the bundle.
  std::string ToJson() const;
  // InvalidArgument naming the parameter if a value is out of its range.
  Status Check() const;
};

// An XGBoost booster owned by this object (freed in the destructor). Not copyable.
class Booster {
 public:
  // Trains on `rows` of `table` (labels required), on the model inputs params.input_differences
  // make of the features. Every C API failure becomes a Status carrying XGBGetLastError().
  static Status Train(const ExamTable& table, const std::vector<size_t>& rows,
                      const TrainParams& params, std::unique_ptr<Booster>* out);
  ~Booster();
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  // Margins (n * kNumClasses, without calibration) of n row-major exams (features as entered;
  // the booster derives its inputs), using the first `rounds` boosting rounds (0 = all).
  Status PredictMargins(const float* features, size_t n, int rounds,
                        std::vector<float>* margins) const;
  // The model as XGBoost JSON (what ImportXgboostJson reads).
  Status SaveJson(std::string* json) const;

 private:
  Booster(void* handle, std::vector<InputDifference> inputs)
      : handle_(handle), inputs_(std::move(inputs)) {}
  void* handle_;
  std::vector<InputDifference> inputs_;
};

// Gathers rows of `table` into a row-major feature matrix / label vector.
std::vector<float> GatherFeatures(const ExamTable& table, const std::vector<size_t>& rows);
std::vector<int> GatherLabels(const ExamTable& table, const std::vector<size_t>& rows);
// GatherFeatures, then the model inputs `inputs` make of them (model.h ModelInputs).
std::vector<float> GatherInputs(const ExamTable& table, const std::vector<size_t>& rows,
                                const std::vector<InputDifference>& inputs);

}  // namespace trainer
}  // namespace fetal
