// fetal-bench-model: speed of the evaluator and explainer against libxgboost's own prediction,
// and of the fast explainer against the previous one (ReferenceExplainer), on the same models
// and rows, in the same run.
//
//   fetal-bench-model [--benchmark_filter=...] [BUNDLE]
//   FETAL_BENCH_BUNDLE_DIR=DIR fetal-bench-model ...   also writes the trained models' bundles
//                                                      to DIR/<name>.fhmb (e.g. for the WASM
//                                                      benchmark's depth-6 model)
//
// Models, all trained in-process on model/data/fetal_health.csv:
//   default  THE default model, trained exactly as `fetal-model train` trains it
//            (trainer::TrainModel with the default search and TrainParams: de-duplicated rows,
//            recipe search, temperature, sets); libxgboost predicts with the booster trained by
//            trainer::Booster::Train on the same rows and the chosen params, loaded from its JSON
//            (checked: its trees are the model's trees). Every model reads the dataset rows as
//            its own inputs (the default re-expresses two histogram features, model.h).
//   d6_200   an imported XGBoost model, depth 6 / eta 0.3 / 200 rounds (tests/model/xgb_oracle.h);
//   d8_200   the same at depth 8.
// A BUNDLE given as the argument or in $FETAL_BUNDLE is compared with the default model: same
// trees -> "same model as BUNDLE" (the figures are the shipped default's); otherwise it is
// benchmarked on its own (evaluator only: there is no libxgboost booster for it).
// Rates are exams per CPU second (items_per_second; CPU time, so a busy shared machine inflates
// wall time more than these figures). Everything runs on one thread (libxgboost with
// nthread=1). Two summary tables are printed at the end: fetal vs libxgboost, and the fast
// explainer vs the reference one (with its state's bytes).
#include <zlib.h>

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
#include "fetal/reference_explainer.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"
#include "xgb_oracle.h"

namespace fetal {
namespace {

using testing::Dataset;
using testing::TrainParams;
using testing::XgbOracle;

constexpr size_t kLargeBatch = 100000;

struct BenchModel {
  std::string name;
  Model model;
  // libxgboost's booster for the same model, or null for a bundle read from disk.
  std::unique_ptr<XgbOracle> oracle;
  BoosterHandle xgb = nullptr;
  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<Explainer> explainer;
  std::unique_ptr<ReferenceExplainer> reference;  // the previous explainer, libxgboost's algorithm
  // The dataset rows and the large batch as this model's inputs (model.h ModelInputs): what its
  // evaluator, explainer and libxgboost booster all read.
  std::vector<float> rows, large;
};

Dataset* g_data = nullptr;
std::vector<float>* g_large = nullptr;  // kLargeBatch rows: the dataset repeated

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "fetal-bench-model: %s\n", message.c_str());
  std::exit(1);
}

size_t GzipSize(const std::vector<uint8_t>& bytes) {
  uLongf size = compressBound(uLong(bytes.size()));
  std::vector<Bytef> out(size);
  if (compress2(out.data(), &size, bytes.data(), uLong(bytes.size()), 9) != Z_OK) return 0;
  // zlib wraps deflate in 6 bytes; gzip in 18 (plus the file name, which `gzip -9 <` omits).
  return size - 6 + 18;
}

bool TreesEqual(const std::vector<Tree>& a, const std::vector<Tree>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const Tree& x = a[i];
    const Tree& y = b[i];
    if (x.target_class != y.target_class || x.left != y.left || x.right != y.right ||
        x.feature != y.feature || x.value != y.value || x.default_left != y.default_left ||
        x.cover != y.cover) {
      return false;
    }
  }
  return true;
}

// Largest |p_fetal - p_xgboost| over the dataset, libxgboost's probabilities tempered the way the
// evaluator tempers margins: softmax(m / T) is proportional to softmax(m)^(1 / T).
double MaxProbabilityGap(const BenchModel& m) {
  const size_t n = g_data->rows;
  std::vector<float> ours(n * kNumClasses), theirs(n * kNumClasses);
  m.evaluator->PredictBatch(m.rows.data(), n, ours.data());
  XgbOracle::PredictDenseWith(m.xgb, m.rows.data(), n, theirs.data());
  double gap = 0;
  for (size_t r = 0; r < n; ++r) {
    double tempered[kNumClasses], sum = 0;
    for (int c = 0; c < kNumClasses; ++c) {
      tempered[c] = std::pow(double(theirs[r * kNumClasses + c]), 1.0 / m.model.temperature);
      sum += tempered[c];
    }
    for (int c = 0; c < kNumClasses; ++c) {
      gap = std::max(gap, std::fabs(ours[r * kNumClasses + c] - tempered[c] / sum));
    }
  }
  return gap;
}

// Largest |fast explainer - libxgboost pred_contribs| and |fast - reference explainer| over the
// dataset's rows.
void ExplanationGaps(const BenchModel& m, double* to_libxgboost, double* to_reference) {
  const size_t n = g_data->rows, per = kNumClasses * kContributionsPerClass;
  std::vector<float> ours(n * per), reference(per);
  m.explainer->ExplainBatch(m.rows.data(), n, ours.data());
  const std::vector<float> theirs =
      m.oracle->Predict(m.rows.data(), n, XgbOracle::Output::kContributions);
  *to_libxgboost = *to_reference = 0;
  for (size_t r = 0; r < n; ++r) {
    m.reference->Explain(&m.rows[r * kNumFeatures], reference.data());
    for (size_t i = 0; i < per; ++i) {
      *to_libxgboost =
          std::max(*to_libxgboost, double(std::fabs(ours[r * per + i] - theirs[r * per + i])));
      *to_reference = std::max(*to_reference, double(std::fabs(ours[r * per + i] - reference[i])));
    }
  }
}

void Describe(const BenchModel& m) {
  const std::vector<uint8_t> bytes = WriteBundle(m.model);
  if (const char* dir = std::getenv("FETAL_BENCH_BUNDLE_DIR"); dir && m.xgb) {
    const std::string path = std::string(dir) + "/" + m.name + ".fhmb";
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) Die("cannot write " + path);
    std::printf("wrote %s\n", path.c_str());
  }
  size_t nodes = 0;
  for (const Tree& t : m.model.trees) nodes += t.size();
  std::printf(
      "model %-8s trees %zu, nodes %zu, temperature %.4f, bundle %zu bytes raw, %zu bytes "
      "gzip -9\n",
      m.name.c_str(), m.model.trees.size(), nodes, m.model.temperature, bytes.size(),
      GzipSize(bytes));
  std::printf("model %-8s explainer state %zu bytes\n", m.name.c_str(),
              m.explainer->memory_bytes());
  if (m.xgb) {
    std::printf("model %-8s max |p_fetal - p_libxgboost| on %zu rows: %.2g\n", m.name.c_str(),
                g_data->rows, MaxProbabilityGap(m));
    double to_libxgboost = 0, to_reference = 0;
    ExplanationGaps(m, &to_libxgboost, &to_reference);
    std::printf(
        "model %-8s max |contribution - libxgboost pred_contribs| %.2g, - reference explainer "
        "%.2g\n",
        m.name.c_str(), to_libxgboost, to_reference);
  }
}

void BM_PredictSingle(benchmark::State& state, BenchModel* m) {
  float probabilities[kNumClasses];
  size_t row = 0;
  for (auto _ : state) {
    m->evaluator->Predict(&m->rows[row * kNumFeatures], probabilities);
    benchmark::DoNotOptimize(probabilities);
    if (++row == g_data->rows) row = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_PredictBatch(benchmark::State& state, BenchModel* m, size_t n) {
  const float* x = n == kLargeBatch ? m->large.data() : m->rows.data();
  std::vector<float> probabilities(n * kNumClasses);
  for (auto _ : state) {
    m->evaluator->PredictBatch(x, n, probabilities.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

void BM_Explain(benchmark::State& state, BenchModel* m) {
  float contributions[kNumClasses * kContributionsPerClass];
  size_t row = 0;
  for (auto _ : state) {
    m->explainer->Explain(&m->rows[row * kNumFeatures], contributions);
    benchmark::DoNotOptimize(contributions);
    if (++row == g_data->rows) row = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_ExplainReference(benchmark::State& state, BenchModel* m) {
  float contributions[kNumClasses * kContributionsPerClass];
  size_t row = 0;
  for (auto _ : state) {
    m->reference->Explain(&m->rows[row * kNumFeatures], contributions);
    benchmark::DoNotOptimize(contributions);
    if (++row == g_data->rows) row = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

// Every dataset row explained, as the batch view and `fetal-model predict --explain` do.
void BM_ExplainBatch(benchmark::State& state, BenchModel* m) {
  std::vector<float> contributions(g_data->rows * kNumClasses * kContributionsPerClass);
  for (auto _ : state) {
    m->explainer->ExplainBatch(m->rows.data(), g_data->rows, contributions.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations() * g_data->rows));
}

void BM_XgboostSingle(benchmark::State& state, BenchModel* m) {
  float probabilities[kNumClasses];
  size_t row = 0;
  for (auto _ : state) {
    XgbOracle::PredictDenseWith(m->xgb, &m->rows[row * kNumFeatures], 1, probabilities);
    benchmark::DoNotOptimize(probabilities);
    if (++row == g_data->rows) row = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_XgboostBatch(benchmark::State& state, BenchModel* m, size_t n) {
  const float* x = n == kLargeBatch ? m->large.data() : m->rows.data();
  std::vector<float> probabilities(n * kNumClasses);
  for (auto _ : state) {
    XgbOracle::PredictDenseWith(m->xgb, x, n, probabilities.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

void Register(BenchModel* m) {
  const std::string& n = m->name;
  const size_t rows = g_data->rows;
  benchmark::RegisterBenchmark(("Predict/single/" + n).c_str(), BM_PredictSingle, m);
  benchmark::RegisterBenchmark(("PredictBatch/" + std::to_string(rows) + "/" + n).c_str(),
                               BM_PredictBatch, m, rows);
  benchmark::RegisterBenchmark(("PredictBatch/100000/" + n).c_str(), BM_PredictBatch, m,
                               kLargeBatch);
  benchmark::RegisterBenchmark(("Explain/single/" + n).c_str(), BM_Explain, m);
  benchmark::RegisterBenchmark(("ExplainReference/single/" + n).c_str(), BM_ExplainReference, m);
  benchmark::RegisterBenchmark(("ExplainBatch/" + std::to_string(rows) + "/" + n).c_str(),
                               BM_ExplainBatch, m);
  if (m->xgb) {
    benchmark::RegisterBenchmark(("Xgboost/single/" + n).c_str(), BM_XgboostSingle, m);
    benchmark::RegisterBenchmark(("XgboostBatch/" + std::to_string(rows) + "/" + n).c_str(),
                                 BM_XgboostBatch, m, rows);
    benchmark::RegisterBenchmark(("XgboostBatch/100000/" + n).c_str(), BM_XgboostBatch, m,
                                 kLargeBatch);
  }
}

void Compile(BenchModel* m) {
  m->rows = g_data->features;
  m->large = *g_large;
  for (std::vector<float>* x : {&m->rows, &m->large}) {
    for (size_t r = 0; r < x->size() / kNumFeatures; ++r) {
      ModelInputs(m->model.input_differences, &(*x)[r * kNumFeatures], &(*x)[r * kNumFeatures]);
    }
  }
  Status s = Evaluator::Create(m->model, &m->evaluator);
  if (s.ok()) s = Explainer::Create(m->model, &m->explainer);
  if (s.ok()) s = ReferenceExplainer::Create(m->model, &m->reference);
  if (!s.ok()) Die(m->name + ": " + s.ToString());
}

// THE default model, as `fetal-model train` makes it: TrainModel with the default search and
// TrainParams on the CSV (it de-duplicates, searches, trains, imports, calibrates, fits the sets
// and the OOD reference). The booster libxgboost predicts with is Booster::Train on the same
// de-duplicated rows and the chosen params (training is deterministic); its imported trees must
// be the model's, or we stop. (A vector-scaling recipe scales the leaves, so the check and the
// comparison with libxgboost need a temperature recipe, which the default search chose.)
std::unique_ptr<BenchModel> TrainDefault() {
  trainer::Dataset data;
  Status s = trainer::LoadDataset(std::string(FETAL_DATA_DIR) + "/fetal_health.csv", &data);
  if (!s.ok()) Die(s.ToString());
  trainer::TrainParams defaults;  // what `fetal-model train` uses without flags
  trainer::SearchSpace space;
  if (!trainer::SearchSpace::Named("default", defaults, &space)) Die("no default search");
  auto m = std::make_unique<BenchModel>();
  m->name = "default";
  trainer::TrainSummary summary;
  s = trainer::TrainModel(data, space, defaults, "2026-11-28T00:00:00Z", nullptr, &m->model,
                          &summary);
  if (!s.ok()) Die("TrainModel: " + s.ToString());
  const trainer::TrainParams& params = summary.fit.params;

  const std::vector<size_t> rows =
      trainer::DeduplicateRows(data.table, trainer::AllRows(data.table));
  std::unique_ptr<trainer::Booster> booster;
  s = trainer::Booster::Train(data.table, rows, params, &booster);
  std::string json;
  if (s.ok()) s = booster->SaveJson(&json);
  Model imported;
  if (s.ok()) s = ImportXgboostJson(json, &imported);
  if (!s.ok()) Die("Booster::Train: " + s.ToString());
  if (!TreesEqual(imported.trees, m->model.trees) || imported.base_score != m->model.base_score) {
    Die("the booster trained for libxgboost differs from TrainModel's model");
  }
  m->oracle = std::make_unique<XgbOracle>(json);
  m->xgb = m->oracle->handle();
  std::printf("default model: %s, %zu of %zu rows (%zu duplicates removed), trained in %.1f s\n",
              params.ToJson().c_str(), summary.training_rows, summary.input_rows,
              summary.duplicates_removed, summary.seconds);
  return m;
}

// Records every run's rate, for the summary table; prints as the console reporter does.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      auto it = run.counters.find("items_per_second");
      if (run.run_type == Run::RT_Iteration && it != run.counters.end()) {
        rates_[run.benchmark_name()] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // Exams per second of `name`, 0 if it did not run (filtered out).
  double Rate(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> rates_;
};

void PrintSummary(const RecordingReporter& r,
                  const std::vector<std::unique_ptr<BenchModel>>& models) {
  const std::string rows = std::to_string(g_data->rows);
  auto us = [](double rate) { return rate > 0 ? 1e6 / rate : 0.0; };
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf(
      "\nsummary (one thread; exams per CPU second; single exam in CPU us; "
      "ratio = fetal / libxgboost)\n");
  std::printf("%-8s %-7s %14s %14s %7s %10s %10s %10s\n", "model", "batch", "fetal exams/s",
              "xgb exams/s", "ratio", "fetal 1 us", "xgb 1 us", "explain us");
  for (const auto& m : models) {
    for (const std::string& batch : {rows, std::string("100000")}) {
      const double ours = r.Rate("PredictBatch/" + batch + "/" + m->name);
      const double theirs = r.Rate("XgboostBatch/" + batch + "/" + m->name);
      std::printf("%-8s %-7s %14.0f %14.0f %7.1f %10.3f %10.3f %10.3f\n", m->name.c_str(),
                  batch.c_str(), ours, theirs, ratio(ours, theirs),
                  us(r.Rate("Predict/single/" + m->name)), us(r.Rate("Xgboost/single/" + m->name)),
                  us(r.Rate("Explain/single/" + m->name)));
    }
  }
  std::printf("(0 = not run, e.g. filtered out or no libxgboost booster for the model)\n");
  std::printf(
      "\nexplanations (one thread, CPU time): fast explainer next to the previous one "
      "(ReferenceExplainer, libxgboost's recursive TreeSHAP)\n");
  std::printf("%-8s %12s %14s %8s %16s %14s\n", "model", "explain us", "reference us", "speedup",
              ("all " + rows + " ms").c_str(), "state bytes");
  for (const auto& m : models) {
    const double fast = us(r.Rate("Explain/single/" + m->name));
    const double reference = us(r.Rate("ExplainReference/single/" + m->name));
    const double batch = r.Rate("ExplainBatch/" + rows + "/" + m->name);
    std::printf("%-8s %12.2f %14.2f %8.1f %16.2f %14zu\n", m->name.c_str(), fast, reference,
                ratio(reference, fast), batch > 0 ? 1e3 * double(g_data->rows) / batch : 0.0,
                m->explainer->memory_bytes());
  }
}

}  // namespace
}  // namespace fetal

int main(int argc, char** argv) {
  using namespace fetal;
  benchmark::Initialize(&argc, argv);
  std::string bundle_path = argc > 1 ? argv[1] : "";
  if (bundle_path.empty() && std::getenv("FETAL_BUNDLE")) bundle_path = std::getenv("FETAL_BUNDLE");

  static Dataset data;
  Status s = testing::LoadDataset(std::string(FETAL_DATA_DIR) + "/fetal_health.csv", &data);
  if (!s.ok()) Die(s.ToString());
  g_data = &data;
  static std::vector<float> large(kLargeBatch * kNumFeatures);
  for (size_t r = 0; r < kLargeBatch; ++r) {
    std::copy_n(&data.features[(r % data.rows) * kNumFeatures], kNumFeatures,
                &large[r * kNumFeatures]);
  }
  g_large = &large;

  static std::vector<std::unique_ptr<BenchModel>> models;
  models.push_back(TrainDefault());
  for (int depth : {6, 8}) {
    auto m = std::make_unique<BenchModel>();
    m->name = "d" + std::to_string(depth) + "_200";
    m->oracle = std::make_unique<XgbOracle>(data, TrainParams{depth, 0.3, 200, 0.5});
    m->xgb = m->oracle->handle();
    s = ImportXgboostJson(m->oracle->SaveJson(), &m->model);
    if (!s.ok()) Die(s.ToString());
    models.push_back(std::move(m));
  }
  if (!bundle_path.empty()) {
    std::ifstream in(bundle_path, std::ios::binary);
    if (!in) Die("cannot open bundle " + bundle_path);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    auto m = std::make_unique<BenchModel>();
    m->name = "bundle";
    s = ReadBundle(bytes.data(), bytes.size(), &m->model);
    if (!s.ok()) Die(bundle_path + ": " + s.ToString());
    // Compare what the default model serializes to, not the in-memory form, so the check covers
    // the bundle writer too.
    const std::vector<uint8_t> ours_bytes = WriteBundle(models[0]->model);
    Model ours;
    s = ReadBundle(ours_bytes.data(), ours_bytes.size(), &ours);
    if (!s.ok()) Die("re-reading the default model's bundle: " + s.ToString());
    const bool same =
        TreesEqual(ours.trees, m->model.trees) && ours.base_score == m->model.base_score;
    std::printf("bundle %s: %zu bytes raw, %zu trees, temperature %.4f (in-process %.4f): %s\n",
                bundle_path.c_str(), bytes.size(), m->model.trees.size(), m->model.temperature,
                ours.temperature,
                same ? "same model as BUNDLE (identical trees): the default figures are the "
                       "bundle's"
                     : "DIFFERENT trees from the in-process default: benchmarked separately");
    if (!same) models.push_back(std::move(m));
  }
  for (auto& m : models) {
    Compile(m.get());
    Describe(*m);
    Register(m.get());
  }
  std::fflush(stdout);
  RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintSummary(reporter, models);
  benchmark::Shutdown();
  // Free the boosters while libxgboost's own static state is still alive.
  models.clear();
  return 0;
}
