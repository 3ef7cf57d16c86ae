// The native trainer: XGBoost (libxgboost C API) multi:softprob boosters, the procedure that
// turns a set of training rows into a model (recipe search, calibration, conformal sets, OOD
// reference, bundle size budget) and cross-validation of that procedure on the published folds.
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
#include "fetal/trainer/booster.h"
#include "fetal/trainer/conformal.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/metrics.h"
#include "fetal/trainer/search.h"

namespace fetal {
namespace trainer {

// Resolves the bundle's creation time: `flag` (ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ") if not
// empty, else the SOURCE_DATE_EPOCH environment variable (seconds since 1970, what reproducible
// builds set), else the current time. InvalidArgument naming --created / SOURCE_DATE_EPOCH.
Status ResolveCreatedTime(const std::string& flag, std::string* iso8601);

// The procedure on one set of training rows (labels required): the recipe search of `space`
// on them (search.h; `base` supplies what the space does not vary), a booster on all of them
// with the chosen parameters, imported into a Model (ImportXgboostJson, the path an external
// XGBoost model takes); the chosen calibration fit on the search's out-of-fold margins; the
// conformal sets fit on the cross-fitted calibrated out-of-fold probabilities; the OOD reference
// and training range. If the bundle would exceed `max_bundle_gzip_bytes` gzipped (0 = no limit),
// the last rounds are dropped (down the early-stopping grid) until it fits. Metadata other than
// params_json is left to the caller.
struct FitResult {
  SearchOutcome search;
  TrainParams params;  // as chosen (rounds after the size budget)
  size_t bundle_gzip_bytes = 0;
};
Status FitModel(const ExamTable& table, const std::vector<size_t>& rows, const SearchSpace& space,
                const TrainParams& base, size_t max_bundle_gzip_bytes, Model* out,
                FitResult* result);

// The default model's budget: the bundle gzipped at most 150 KB (150,000 bytes).
inline constexpr size_t kMaxBundleGzipBytes = 150000;

struct TrainSummary {
  size_t input_rows = 0;
  size_t duplicates_removed = 0;
  size_t training_rows = 0;
  std::vector<size_t> removed_rows;  // 0-based data rows dropped as duplicates
  FitResult fit;
  double seconds = 0;
};

// FitModel on every (de-duplicated) row, plus the bundle metadata. `metrics` (may be null) is
// recorded in the bundle. model_version and name are left to the caller.
Status TrainModel(const Dataset& data, const SearchSpace& space, const TrainParams& base,
                  const std::string& created, const ModelMetrics* metrics, Model* out,
                  TrainSummary* summary);

struct CvSplitResult {
  int repeat = 0, fold = 0;
  size_t train_rows = 0;          // after de-duplication
  size_t train_rows_removed = 0;  // training rows dropped (duplicates, or identical to a test row)
  TrainParams chosen;             // what the search chose on this split's training rows
  std::vector<SearchEntry> search;   // every entry the search scored (inner figures)
  size_t search_chosen = 0;          // index of the chosen entry in `search`
  double temperature = 1;            // of the split's model (1 when vector scaling is folded in)
  std::vector<size_t> test_rows;     // original row indices, all of the published test rows
  std::vector<float> probabilities;  // test_rows.size() * kNumClasses, calibrated
  std::vector<unsigned> sets;        // conformal set of each test row (bit c = class c)
  ClassificationMetrics metrics;
  SetCoverage coverage;
};

struct CvResult {
  std::vector<CvSplitResult> splits;
  double seconds = 0;
  // Hex SHA-256 of the folds file, set by the caller (CrossValidate does not read files): the
  // model card compares with the reference models only on the folds their figures are of.
  std::string folds_sha256;
};

// Runs FitModel on each split's training rows — de-duplicated, rows identical to a test row
// removed (no leakage) — and scores every published test row with the resulting Model through
// the model core's Classifier (what ships). `jobs` splits run at once on as many threads (each
// booster stays single-threaded, so results do not depend on it). `on_split` (may be empty) is
// called after each split, in split order, for progress output.
Status CrossValidate(const Dataset& data, const std::vector<CvSplit>& splits,
                     const SearchSpace& space, const TrainParams& base, CvResult* out,
                     const std::function<void(const CvSplitResult&)>& on_split = {}, int jobs = 1);

// Means over the splits, for the bundle.
ModelMetrics SummarizeForBundle(const CvResult& cv);

}  // namespace trainer
}  // namespace fetal
