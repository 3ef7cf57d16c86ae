// fetal-bench-model: speed of the evaluator and explainer against libxgboost's own prediction,
// on the same models and rows, in the same run.
//
//   fetal-bench-model [--benchmark_filter=...] [BUNDLE]
//   FETAL_BENCH_BUNDLE_DIR=DIR fetal-bench-model ...   also writes the trained models' bundles
//                                                      to DIR/<name>.fhmb (e.g. for the WASM
//                                                      benchmark's depth-6 model)
//
// Models: XGBoost trained in-process on model/data/fetal_health.csv (depth 4 / eta 0.05 /
// 300 rounds, the expected default; depth 6 / 200 rounds), and optionally a bundle file given as
// the argument or in $FETAL_BUNDLE (evaluator only: there is no libxgboost booster for it).
// Rates are exams per second (items_per_second). Everything runs on one thread.
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
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
  std::unique_ptr<XgbOracle> oracle;  // null for a bundle read from disk
  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<Explainer> explainer;
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

void Describe(const BenchModel& m) {
  const std::vector<uint8_t> bytes = WriteBundle(m.model);
  if (const char* dir = std::getenv("FETAL_BENCH_BUNDLE_DIR"); dir && m.oracle) {
    const std::string path = std::string(dir) + "/" + m.name + ".fhmb";
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) Die("cannot write " + path);
    std::printf("wrote %s\n", path.c_str());
  }
  size_t nodes = 0;
  for (const Tree& t : m.model.trees) nodes += t.size();
  std::printf("model %-14s trees %zu, nodes %zu, bundle %zu bytes raw, %zu bytes gzip -9\n",
              m.name.c_str(), m.model.trees.size(), nodes, bytes.size(), GzipSize(bytes));
}

void BM_PredictSingle(benchmark::State& state, BenchModel* m) {
  float probabilities[kNumClasses];
  size_t row = 0;
  for (auto _ : state) {
    m->evaluator->Predict(&g_data->features[row * kNumFeatures], probabilities);
    benchmark::DoNotOptimize(probabilities);
    if (++row == g_data->rows) row = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_PredictBatch(benchmark::State& state, BenchModel* m, size_t n) {
  const float* x = n == kLargeBatch ? g_large->data() : g_data->features.data();
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
    m->explainer->Explain(&g_data->features[row * kNumFeatures], contributions);
    benchmark::DoNotOptimize(contributions);
    if (++row == g_data->rows) row = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_XgboostSingle(benchmark::State& state, BenchModel* m) {
  float probabilities[kNumClasses];
  size_t row = 0;
  for (auto _ : state) {
    m->oracle->PredictDense(&g_data->features[row * kNumFeatures], 1, probabilities);
    benchmark::DoNotOptimize(probabilities);
    if (++row == g_data->rows) row = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_XgboostBatch(benchmark::State& state, BenchModel* m, size_t n) {
  const float* x = n == kLargeBatch ? g_large->data() : g_data->features.data();
  std::vector<float> probabilities(n * kNumClasses);
  for (auto _ : state) {
    m->oracle->PredictDense(x, n, probabilities.data());
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
  if (m->oracle) {
    benchmark::RegisterBenchmark(("Xgboost/single/" + n).c_str(), BM_XgboostSingle, m);
    benchmark::RegisterBenchmark(("XgboostBatch/" + std::to_string(rows) + "/" + n).c_str(),
                                 BM_XgboostBatch, m, rows);
    benchmark::RegisterBenchmark(("XgboostBatch/100000/" + n).c_str(), BM_XgboostBatch, m,
                                 kLargeBatch);
  }
}

void Compile(BenchModel* m) {
  Status s = Evaluator::Create(m->model, &m->evaluator);
  if (s.ok()) s = Explainer::Create(m->model, &m->explainer);
  if (!s.ok()) Die(m->name + ": " + s.ToString());
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
  const struct {
    const char* name;
    TrainParams params;
  } trained[] = {{"d4_eta005_300", {4, 0.05, 300, 0.5}}, {"d6_200", {6, 0.3, 200, 0.5}}};
  for (const auto& t : trained) {
    auto m = std::make_unique<BenchModel>();
    m->name = t.name;
    m->oracle = std::make_unique<XgbOracle>(data, t.params);
    s = ImportXgboostJson(m->oracle->SaveJson(), &m->model);
    if (!s.ok()) Die(s.ToString());
    models.push_back(std::move(m));
  }
  if (!bundle_path.empty()) {
    std::ifstream in(bundle_path, std::ios::binary);
    if (!in) Die("cannot open bundle " + bundle_path);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto m = std::make_unique<BenchModel>();
    m->name = "bundle";
    s = ReadBundle(bytes.data(), bytes.size(), &m->model);
    if (!s.ok()) Die(bundle_path + ": " + s.ToString());
    std::printf("bundle %s: %zu bytes raw\n", bundle_path.c_str(), bytes.size());
    models.push_back(std::move(m));
  }
  for (auto& m : models) {
    Compile(m.get());
    Describe(*m);
    Register(m.get());
  }
  std::fflush(stdout);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Free the boosters while libxgboost's own static state is still alive.
  models.clear();
  return 0;
}
