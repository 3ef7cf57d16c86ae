#include "fetal/trainer/trainer.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/figo.h"
#include "fetal/monitoring_reference.h"
#include "fetal/ood.h"

namespace fetal {
namespace trainer {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// gzip -9 size of `bytes` (the budget is stated for the bundle as served gzipped).
size_t GzipSize(const std::vector<uint8_t>& bytes) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return SIZE_MAX;
  std::vector<uint8_t> out(deflateBound(&z, bytes.size()) + 32);
  z.next_in = const_cast<uint8_t*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&z, Z_FINISH);
  const size_t size = z.total_out;
  deflateEnd(&z);
  return result == Z_STREAM_END ? size : SIZE_MAX;
}

}  // namespace

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

Status FitModel(const ExamTable& table, const std::vector<size_t>& rows, const SearchSpace& space,
                const TrainParams& base, size_t max_bundle_gzip_bytes, Model* out,
                FitResult* result) {
  FitResult fit;
  Status s = Search(table, rows, space, base, &fit.search);
  if (!s.ok()) return s;
  TrainParams params = fit.search.params();

  std::unique_ptr<Booster> booster;
  if (!(s = Booster::Train(table, rows, params, &booster)).ok()) return s;
  std::string json;
  if (!(s = booster->SaveJson(&json)).ok()) return s;
  Model full;
  if (!(s = ImportXgboostJson(json, &full)).ok()) {
    return Status::InvalidArgument("importing the trained booster: " + s.message());
  }
  full.input_differences = params.input_differences;
  const std::vector<float> features = GatherFeatures(table, rows);
  if (!(s = FitOodReference(features.data(), rows.size(), params.ood_quantile, &full)).ok()) {
    return s;
  }
  const std::vector<int> labels = GatherLabels(table, rows);
  const size_t n = rows.size();
  std::vector<float> probabilities(n * kNumClasses);
  std::vector<double> ood_distances(n);
  for (size_t i = 0; i < n; ++i) {
    ood_distances[i] = CheckOod(full, &features[i * kNumFeatures]).distance;
  }

  // From the chosen round count down the early-stopping grid until the bundle fits its budget.
  // Boosting is sequential (and the sampler seeded), so the first r rounds of the booster are
  // the booster trained for r rounds.
  const std::vector<int>& grid = fit.search.round_counts;
  auto k = std::find(grid.begin(), grid.end(), params.rounds) - grid.begin();
  while (true) {
    params.rounds = grid[k];
    Model model = full;
    model.trees.resize(std::min(model.trees.size(), size_t(params.rounds) * kNumClasses));
    const std::vector<float>& oof = fit.search.MarginsAt(params.rounds);
    ApplyCalibration(FitCalibration(params.calibrator, oof.data(), labels.data(), n), &model);
    CrossFittedProbabilities(params.calibrator, oof.data(), labels.data(), n, fit.search.inner_fold,
                             params.inner_folds, probabilities.data());
    model.conformal = FitConformalSets(probabilities.data(), labels.data(), n, params.set_level);
    // What production monitoring compares with: the training features and these out-of-fold
    // probabilities (docs/monitoring.md).
    MonitoringReference reference;
    s = FitMonitoringReference(features.data(), labels.data(), probabilities.data(), ood_distances,
                               n, &reference);
    if (!s.ok()) return s;
    model.monitoring_section = MonitoringReferenceToJson(reference);
    model.params_json = params.ToJson();
    if (!(s = CheckModel(model)).ok()) return s;
    fit.bundle_gzip_bytes = GzipSize(WriteBundle(model));
    if (max_bundle_gzip_bytes == 0 || fit.bundle_gzip_bytes <= max_bundle_gzip_bytes) {
      *out = std::move(model);
      break;
    }
    if (k == 0) {
      return Status::InvalidArgument(
          "the model does not fit the bundle budget: " + std::to_string(fit.bundle_gzip_bytes) +
          " bytes gzipped at " + std::to_string(params.rounds) + " rounds, budget " +
          std::to_string(max_bundle_gzip_bytes));
    }
    --k;
  }
  fit.params = params;
  if (result) *result = std::move(fit);
  return Status::Ok();
}

Status TrainModel(const Dataset& data, const SearchSpace& space, const TrainParams& base,
                  const std::string& created, const ModelMetrics* metrics, Model* out,
                  TrainSummary* summary) {
  auto start = std::chrono::steady_clock::now();
  const ExamTable& table = data.table;
  std::vector<size_t> rows = DeduplicateRows(table, AllRows(table));
  TrainSummary local;
  local.input_rows = table.rows;
  local.training_rows = rows.size();
  local.duplicates_removed = table.rows - rows.size();
  for (size_t r = 0, k = 0; r < table.rows; ++r) {
    if (k < rows.size() && rows[k] == r) {
      ++k;
    } else {
      local.removed_rows.push_back(r);
    }
  }
  Model model;
  Status s = FitModel(table, rows, space, base, kMaxBundleGzipBytes, &model, &local.fit);
  if (!s.ok()) return s;
  model.created = created;
  model.training_data_sha256 = data.sha256;
  model.figo_ruleset = kFigoRuleSetVersion;
  model.source = "fetal-model train";
  if (metrics) model.metrics = *metrics;
  if (!(s = CheckModel(model)).ok()) return s;
  *out = std::move(model);
  local.seconds = Seconds(start);
  if (summary) *summary = std::move(local);
  return Status::Ok();
}

namespace {

Status CrossValidateSplit(const ExamTable& table, const CvSplit& split, const SearchSpace& space,
                          const TrainParams& base, CvSplitResult* result) {
  for (const std::vector<size_t>* part : {&split.test, &split.train}) {
    for (size_t r : *part)
      if (r >= table.rows) return Status::InvalidArgument("fold row out of range");
  }
  result->repeat = split.repeat;
  result->fold = split.fold;
  // Drop duplicate training rows and training rows identical to a test row (leakage).
  std::vector<size_t> train = DeduplicateRows(table, split.train, split.test);
  result->train_rows = train.size();
  result->train_rows_removed = split.train.size() - train.size();

  Model model;
  FitResult fit;
  Status s = FitModel(table, train, space, base, kMaxBundleGzipBytes, &model, &fit);
  if (!s.ok()) return s;
  result->chosen = fit.params;
  result->search = std::move(fit.search.entries);
  result->search_chosen = fit.search.chosen;
  result->temperature = model.temperature;

  // Score the test rows with the model core, exactly as the product would.
  std::unique_ptr<Classifier> classifier;
  if (!(s = Classifier::Create(std::move(model), &classifier)).ok()) return s;
  const size_t n = split.test.size();
  std::vector<float> features = GatherFeatures(table, split.test);
  result->test_rows = split.test;
  result->probabilities.resize(n * kNumClasses);
  classifier->PredictBatch(features.data(), n, result->probabilities.data());
  result->sets.resize(n);
  for (size_t i = 0; i < n; ++i) {
    result->sets[i] =
        PredictionSet(classifier->model().conformal, &result->probabilities[i * kNumClasses]);
  }
  std::vector<int> labels = GatherLabels(table, split.test);
  result->metrics = ComputeMetrics(result->probabilities.data(), labels.data(), n);
  result->coverage = MeasureCoverage(classifier->model().conformal, result->probabilities.data(),
                                     labels.data(), n);
  return Status::Ok();
}

}  // namespace

Status CrossValidate(const Dataset& data, const std::vector<CvSplit>& splits,
                     const SearchSpace& space, const TrainParams& base, CvResult* out,
                     const std::function<void(const CvSplitResult&)>& on_split, int jobs) {
  auto start = std::chrono::steady_clock::now();
  Status s = base.Check();
  if (!s.ok()) return s;
  out->splits.assign(splits.size(), CvSplitResult());
  std::vector<Status> statuses(splits.size());
  std::vector<char> done(splits.size(), 0);
  std::atomic<size_t> next{0};
  std::mutex mu;  // guards done, reported, and the on_split calls
  size_t reported = 0;
  auto worker = [&] {
    for (size_t i; (i = next++) < splits.size();) {
      statuses[i] = CrossValidateSplit(data.table, splits[i], space, base, &out->splits[i]);
      std::lock_guard<std::mutex> lock(mu);
      done[i] = 1;
      // Report in split order: every finished split no earlier split is still waiting for.
      while (reported < splits.size() && done[reported]) {
        if (on_split && statuses[reported].ok()) on_split(out->splits[reported]);
        ++reported;
      }
    }
  };
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(splits.size())));
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  for (const Status& st : statuses)
    if (!st.ok()) return st;
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
