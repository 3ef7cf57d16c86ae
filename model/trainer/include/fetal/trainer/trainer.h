// The native trainer: XGBoost (libxgboost C API) multi:softprob boosters, temperature
// calibration, the OOD reference and cross-validation on the published folds.
//
// Deterministic: one thread, fixed seeds, no wall-clock input except Model::created, which the
// caller passes in (see ResolveCreatedTime). Same data + same params + same `created` -> the same
// Model and therefore byte-identical bundles.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fetal/model.h"
#include "fetal/status.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/metrics.h"

namespace fetal {
namespace trainer {

// Defaults chosen by inner cross-validation on training folds only (`fetal-model tune --stage 3`;
// procedure and numbers in docs/training.md). 300 rounds x 3 classes = 900 trees of depth <= 5,
// a bundle of about 195 KB (136 KB gzipped).
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
  // Suspect and Pathological rows count 3x: higher macro-F1 and Suspect recall at equal log loss.
  std::array<double, kNumClasses> class_weight = {1, 3, 3};
  int temperature_folds = 5;   // inner K for the out-of-fold margins the temperature is fit on
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
  // Trains on `rows` of `table` (labels required). Every C API failure becomes a Status carrying
  // XGBGetLastError().
  static Status Train(const ExamTable& table, const std::vector<size_t>& rows,
                      const TrainParams& params, std::unique_ptr<Booster>* out);
  ~Booster();
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  // Margins (n * kNumClasses, without temperature) of n row-major exams, using the first
  // `rounds` boosting rounds (0 = all).
  Status PredictMargins(const float* features, size_t n, int rounds,
                        std::vector<float>* margins) const;
  // The model as XGBoost JSON (what ImportXgboostJson reads).
  Status SaveJson(std::string* json) const;

 private:
  explicit Booster(void* handle) : handle_(handle) {}
  void* handle_;
};

// Gathers rows of `table` into a row-major feature matrix / label vector.
std::vector<float> GatherFeatures(const ExamTable& table, const std::vector<size_t>& rows);
std::vector<int> GatherLabels(const ExamTable& table, const std::vector<size_t>& rows);

// Out-of-fold margins for `rows` by stratified K-fold (K = params.temperature_folds, seed
// params.seed): margins[i] belongs to rows[i] and comes from a booster that did not see it.
Status OutOfFoldMargins(const ExamTable& table, const std::vector<size_t>& rows,
                        const TrainParams& params, std::vector<float>* margins);

// The scalar T > 0 minimizing the mean log loss of softmax(margin / T): golden-section search on
// log T over [1/20, 20] (the loss is unimodal there: convex in 1/T). n > 0.
double FitTemperature(const float* margins, const int* labels, size_t n);

// Resolves the bundle's creation time: `flag` (ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ") if not
// empty, else the SOURCE_DATE_EPOCH environment variable (seconds since 1970, what reproducible
// builds set), else the current time. InvalidArgument naming --created / SOURCE_DATE_EPOCH.
Status ResolveCreatedTime(const std::string& flag, std::string* iso8601);

struct TrainSummary {
  size_t input_rows = 0;
  size_t duplicates_removed = 0;
  size_t training_rows = 0;
  std::vector<size_t> removed_rows;  // 0-based data rows dropped as duplicates
  double seconds = 0;
};

// The whole pipeline on every (de-duplicated) row: booster -> Model via ImportXgboostJson,
// temperature on out-of-fold margins, OOD reference, metadata. `metrics` (may be null) is
// recorded in the bundle. model_version and name are left to the caller.
Status TrainModel(const Dataset& data, const TrainParams& params, const std::string& created,
                  const ModelMetrics* metrics, Model* out, TrainSummary* summary);

struct CvSplitResult {
  int repeat = 0, fold = 0;
  size_t train_rows = 0;          // after de-duplication
  size_t train_rows_removed = 0;  // training rows dropped (duplicates, or identical to a test row)
  double temperature = 1;
  std::vector<size_t> test_rows;     // original row indices, all of the published test rows
  std::vector<float> probabilities;  // test_rows.size() * kNumClasses, calibrated
  ClassificationMetrics metrics;
};

struct CvResult {
  std::vector<CvSplitResult> splits;
  double seconds = 0;
};

// Trains and evaluates every split. Training part: de-duplicated, and rows identical to a test
// row removed (no leakage); test part: every published test row. `on_split` (may be empty) is
// called after each split, for progress output.
Status CrossValidate(const Dataset& data, const std::vector<CvSplit>& splits,
                     const TrainParams& params, CvResult* out,
                     const std::function<void(const CvSplitResult&)>& on_split = {});

// Means over the splits, for the bundle.
ModelMetrics SummarizeForBundle(const CvResult& cv);

}  // namespace trainer
}  // namespace fetal
