// fetal-wasm-reference: the native side of the WebAssembly parity tests and benchmarks.
//
// It runs the model library natively, straight through its public API (not through the wasm
// bindings), and prints results as JSON at full precision for tests/wasm/*.test.mjs and
// bench/wasm/ to compare with what the WebAssembly build returns.
//
//   fetal-wasm-reference classify --model BUNDLE --input CSV
//   fetal-wasm-reference predict-batch --model BUNDLE (--input CSV | --exams TXT)
//                                   (PredictBatch on every row's model inputs, no validation:
//                                   NaN cells take default branches)
//   fetal-wasm-reference explain-batch --model BUNDLE (--input CSV | --exams TXT)
//                                   (Explainer::ExplainBatch on every row's model inputs, no
//                                   validation)
//   fetal-wasm-reference validate --model BUNDLE --exams TXT
//   (TXT: one exam a line, 21 numbers in strtod syntax, so nan, inf and -0 work)
//   fetal-wasm-reference train-xgboost --data CSV --out MODEL.json [--depth 6] [--rounds 200]
//   fetal-wasm-reference bench --model BUNDLE --input CSV [--calls 20000] [--batch 100000]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/csv.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
#include "fetal/figo.h"
#include "fetal/ood.h"
#include "fetal/reference_explainer.h"
#include "fetal/schema.h"
#include "fetal/validator.h"
#include "xgb_oracle.h"

namespace {

using nlohmann::json;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "fetal-wasm-reference: %s\n", message.c_str());
  std::exit(2);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// --flag value pairs after the verb.
std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) {
      Die(std::string("expected --flag value, got ") + argv[i]);
    }
    flags[argv[i]] = argv[i + 1];
  }
  return flags;
}

std::string Require(const std::map<std::string, std::string>& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end()) Die("missing " + name);
  return it->second;
}

// JSON has no NaN/Infinity: written as strings, exactly as the wasm bindings do.
json Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}
json Bound(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json FindingsJson(const std::vector<fetal::Finding>& findings, bool warnings_only) {
  json out = json::array();
  for (const fetal::Finding& f : findings) {
    if (warnings_only && f.severity != fetal::Severity::kWarning) continue;
    out.push_back({{"feature", f.feature},
                   {"severity", f.severity == fetal::Severity::kError ? "error" : "warning"},
                   {"rule", f.rule},
                   {"value", Number(f.value)},
                   {"message", f.message},
                   {"expected", f.expected},
                   {"expectedMin", Bound(f.expected_min)},
                   {"expectedMax", Bound(f.expected_max)}});
  }
  return out;
}

fetal::Model LoadModel(const std::string& path) {
  std::string bytes = ReadFile(path);
  fetal::Model model;
  fetal::Status s =
      fetal::ReadBundle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &model);
  if (!s.ok()) Die(path + ": " + s.ToString());
  return model;
}

fetal::ExamTable LoadCsv(const std::string& path) {
  fetal::ExamTable table;
  fetal::Status s = fetal::ParseExamCsv(ReadFile(path), fetal::CsvOptions(), &table);
  if (!s.ok()) Die(path + ": " + s.ToString());
  return table;
}

int Classify(const std::map<std::string, std::string>& flags) {
  fetal::Model model = LoadModel(Require(flags, "--model"));
  fetal::ExamTable table = LoadCsv(Require(flags, "--input"));
  std::unique_ptr<fetal::Evaluator> evaluator;
  std::unique_ptr<fetal::Explainer> explainer;
  fetal::Status s = fetal::Evaluator::Create(model, &evaluator);
  if (s.ok()) s = fetal::Explainer::Create(model, &explainer);
  if (!s.ok()) Die(s.ToString());

  json rows = json::array();
  for (size_t r = 0; r < table.rows; ++r) {
    const float* x = &table.features[r * fetal::kNumFeatures];
    std::vector<fetal::Finding> findings = fetal::ValidateExam(x, &model.training_range);
    json row = {{"line", table.lines[r]}};
    if (!fetal::IsAcceptable(findings)) {
      row["classified"] = false;
      row["findings"] = FindingsJson(findings, false);
      rows.push_back(row);
      continue;
    }
    // The trees and TreeSHAP see the model's inputs; validation, OOD and FIGO the features.
    float inputs[fetal::kNumFeatures];
    fetal::ModelInputs(model.input_differences, x, inputs);
    float p[fetal::kNumClasses], raw[fetal::kNumClasses], margins[fetal::kNumClasses];
    float contributions[fetal::kNumClasses * fetal::kContributionsPerClass];
    evaluator->Predict(inputs, p);
    evaluator->PredictRaw(inputs, raw);
    evaluator->Margins(inputs, margins);
    explainer->Explain(inputs, contributions);
    row["classified"] = true;
    row["class"] = fetal::ArgMax(p);
    const unsigned set = fetal::PredictionSet(model.conformal, p);
    json set_json = json::array();
    for (int k = 0; k < fetal::kNumClasses; ++k)
      if ((set >> k) & 1u) set_json.push_back(k);
    row["predictionSet"] = set_json;
    const fetal::OodResult ood =
        fetal::CheckOod(model, x);  // out of range even without a reference
    const bool has_reference = fetal::HasUsableOodReference(model);
    row["probabilities"] = std::vector<double>(p, p + fetal::kNumClasses);
    row["rawProbabilities"] = std::vector<double>(raw, raw + fetal::kNumClasses);
    row["margins"] = std::vector<double>(margins, margins + fetal::kNumClasses);
    row["contributions"] = std::vector<double>(std::begin(contributions), std::end(contributions));
    if (has_reference) {
      row["ood"] = {{"distance", Number(ood.distance)},
                    {"outOfDistribution", ood.out_of_distribution},
                    {"outOfRange", ood.out_of_range}};
    }
    // docs/training.md: refer for senior review when the set holds several classes or the exam
    // is unlike the training data.
    row["referForReview"] = set_json.size() > 1 || (has_reference && ood.out_of_distribution) ||
                            !ood.out_of_range.empty();
    fetal::FigoResult figo = fetal::EvaluateFigo(x);
    json flags_json = json::array();
    for (const fetal::FigoFlag& f : figo.flags) {
      flags_json.push_back({{"id", f.id},
                            {"level", fetal::FigoClassName(f.level)},
                            {"feature", f.feature},
                            {"value", Number(f.value)},
                            {"limit", Number(f.limit)},
                            {"message", f.message}});
    }
    row["figo"] = {{"classIndex", fetal::FigoClassIndex(figo.figo_class)}, {"flags", flags_json}};
    row["warnings"] = FindingsJson(findings, true);
    rows.push_back(row);
  }
  json out = {{"rows", rows}, {"csvErrors", table.errors.size()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

// One exam a line: 21 numbers in strtod syntax (nan, inf, -0 work), row-major into *exams.
std::vector<float> ReadExamLines(const std::string& path) {
  std::istringstream lines(ReadFile(path));
  std::vector<float> exams;
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const char* p = line.c_str();
    for (int i = 0; i < fetal::kNumFeatures; ++i) {
      char* end = nullptr;
      exams.push_back(static_cast<float>(std::strtod(p, &end)));
      if (end == p) Die("exam line needs 21 numbers: " + line);
      p = end;
    }
  }
  return exams;
}

// The exams of --input CSV (parsed rows) or --exams TXT (ReadExamLines).
std::vector<float> ReadExams(const std::map<std::string, std::string>& flags) {
  if (flags.count("--exams")) return ReadExamLines(flags.at("--exams"));
  return LoadCsv(Require(flags, "--input")).features;
}

// The exams as the trees see them: each row through the model's inputs (model.h ModelInputs).
std::vector<float> ModelInputRows(const fetal::Model& model, std::vector<float> exams) {
  for (size_t r = 0; r < exams.size() / fetal::kNumFeatures; ++r) {
    float* x = &exams[r * fetal::kNumFeatures];
    fetal::ModelInputs(model.input_differences, x, x);
  }
  return exams;
}

int PredictBatch(const std::map<std::string, std::string>& flags) {
  fetal::Model model = LoadModel(Require(flags, "--model"));
  const std::vector<float> exams = ReadExams(flags);
  const size_t rows = exams.size() / fetal::kNumFeatures;
  std::unique_ptr<fetal::Evaluator> evaluator;
  fetal::Status s = fetal::Evaluator::Create(model, &evaluator);
  if (!s.ok()) Die(s.ToString());
  std::vector<float> p(rows * fetal::kNumClasses);
  evaluator->PredictBatch(ModelInputRows(model, exams).data(), rows, p.data());
  json out = {{"rows", rows}, {"probabilities", std::vector<double>(p.begin(), p.end())}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

int ExplainBatch(const std::map<std::string, std::string>& flags) {
  fetal::Model model = LoadModel(Require(flags, "--model"));
  const std::vector<float> exams = ReadExams(flags);
  const size_t rows = exams.size() / fetal::kNumFeatures;
  std::unique_ptr<fetal::Explainer> explainer;
  fetal::Status s = fetal::Explainer::Create(model, &explainer);
  if (!s.ok()) Die(s.ToString());
  std::vector<float> c(rows * fetal::kNumClasses * fetal::kContributionsPerClass);
  explainer->ExplainBatch(ModelInputRows(model, exams).data(), rows, c.data());
  json out = {{"rows", rows}, {"contributions", std::vector<double>(c.begin(), c.end())}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

int Validate(const std::map<std::string, std::string>& flags) {
  fetal::Model model = LoadModel(Require(flags, "--model"));
  const std::vector<float> exams = ReadExamLines(Require(flags, "--exams"));
  json with_model = json::array(), without_model = json::array();
  for (size_t r = 0; r * fetal::kNumFeatures < exams.size(); ++r) {
    const float* x = &exams[r * fetal::kNumFeatures];
    with_model.push_back(FindingsJson(fetal::ValidateExam(x, &model.training_range), false));
    without_model.push_back(FindingsJson(fetal::ValidateExam(x, nullptr), false));
  }
  json out = {{"withModel", with_model}, {"withoutModel", without_model}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

int TrainXgboost(const std::map<std::string, std::string>& flags) {
  fetal::testing::Dataset data;
  fetal::Status s = fetal::testing::LoadDataset(Require(flags, "--data"), &data);
  if (!s.ok()) Die(s.ToString());
  fetal::testing::TrainParams params;
  if (flags.count("--depth")) params.max_depth = std::atoi(flags.at("--depth").c_str());
  if (flags.count("--rounds")) params.rounds = std::atoi(flags.at("--rounds").c_str());
  fetal::testing::XgbOracle oracle(data, params);
  std::string out_path = Require(flags, "--out");
  std::ofstream out(out_path, std::ios::binary);
  out << oracle.SaveJson();
  if (!out.good()) Die("cannot write " + out_path);
  return 0;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
}

// Native figures for the same machine and run as the wasm benchmarks, so "within 2x of native"
// compares like with like. Per-call timing uses steady_clock around each call, as the JS side
// times each call with performance.now().
int Bench(const std::map<std::string, std::string>& flags) {
  fetal::Model model = LoadModel(Require(flags, "--model"));
  fetal::ExamTable table = LoadCsv(Require(flags, "--input"));
  size_t calls =
      flags.count("--calls") ? std::strtoul(flags.at("--calls").c_str(), nullptr, 10) : 20000;
  size_t batch =
      flags.count("--batch") ? std::strtoul(flags.at("--batch").c_str(), nullptr, 10) : 100000;
  std::unique_ptr<fetal::Classifier> classifier;
  fetal::Status s = fetal::Classifier::Create(model, &classifier);
  if (!s.ok() || table.rows == 0) Die("cannot benchmark: " + s.ToString());
  const fetal::Evaluator* evaluator = &classifier->evaluator();
  using Clock = std::chrono::steady_clock;
  auto ns = [](Clock::duration d) { return std::chrono::duration<double, std::nano>(d).count(); };
  float p[fetal::kNumClasses];
  volatile float sink = 0;

  std::vector<double> predict_ns(calls);
  for (size_t i = 0; i < calls; ++i) {
    const float* x = &table.features[(i % table.rows) * fetal::kNumFeatures];
    auto t0 = Clock::now();
    evaluator->Predict(x, p);
    predict_ns[i] = ns(Clock::now() - t0);
    sink = sink + p[0];
  }
  // The full single-exam path the JS classify() runs (Classifier::Classify: validate, predict
  // (x3), explain, OOD, FIGO).
  size_t full_calls = std::min<size_t>(calls, 5000);
  std::vector<double> classify_ns(full_calls);
  fetal::Classification c;
  for (size_t i = 0; i < full_calls; ++i) {
    const float* x = &table.features[(i % table.rows) * fetal::kNumFeatures];
    auto t0 = Clock::now();
    classifier->Classify(x, fetal::ClassifyOptions(), &c);
    classify_ns[i] = ns(Clock::now() - t0);
    if (c.classified) sink = sink + c.contributions[0] + static_cast<float>(c.figo.flags.size());
  }
  // Explanations alone: the fast explainer (as classify() runs it) and the reference one (the
  // previous explainer, libxgboost's recursive algorithm), per exam; every dataset row at once.
  std::vector<float> contributions(table.rows * fetal::kNumClasses * fetal::kContributionsPerClass);
  classifier->Explain(table.features.data(), contributions.data());  // builds the explainer
  std::unique_ptr<fetal::ReferenceExplainer> reference;
  if (!(s = fetal::ReferenceExplainer::Create(model, &reference)).ok()) Die(s.ToString());
  // Its state, as this kernel (AVX-512 or the portable one WebAssembly also runs) lays it out.
  std::unique_ptr<fetal::Explainer> explainer;
  if (!(s = fetal::Explainer::Create(model, &explainer)).ok()) Die(s.ToString());
  std::vector<double> explain_ns(full_calls), reference_ns(std::min<size_t>(calls, 300));
  for (size_t i = 0; i < explain_ns.size(); ++i) {
    const float* x = &table.features[(i % table.rows) * fetal::kNumFeatures];
    auto t0 = Clock::now();
    classifier->Explain(x, contributions.data());
    explain_ns[i] = ns(Clock::now() - t0);
  }
  for (size_t i = 0; i < reference_ns.size(); ++i) {
    const float* x = &table.features[(i % table.rows) * fetal::kNumFeatures];
    auto t0 = Clock::now();
    reference->Explain(x, contributions.data());
    reference_ns[i] = ns(Clock::now() - t0);
  }
  std::vector<double> explain_all_ms;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = Clock::now();
    classifier->ExplainBatch(table.features.data(), table.rows, contributions.data());
    explain_all_ms.push_back(ns(Clock::now() - t0) * 1e-6);
  }
  sink = sink + contributions[0];

  std::vector<float> exams(batch * fetal::kNumFeatures);
  for (size_t i = 0; i < batch; ++i) {
    std::memcpy(&exams[i * fetal::kNumFeatures],
                &table.features[(i % table.rows) * fetal::kNumFeatures],
                sizeof(float) * fetal::kNumFeatures);
  }
  std::vector<float> out(batch * fetal::kNumClasses);
  evaluator->PredictBatch(exams.data(), batch, out.data());  // warm-up
  // Median of 5 runs, in wall time and in CPU time (steadier on a loaded machine).
  std::vector<double> wall_s, cpu_s;
  for (int rep = 0; rep < 5; ++rep) {
    std::clock_t c0 = std::clock();
    auto t0 = Clock::now();
    evaluator->PredictBatch(exams.data(), batch, out.data());
    wall_s.push_back(ns(Clock::now() - t0) * 1e-9);
    cpu_s.push_back(double(std::clock() - c0) / CLOCKS_PER_SEC);
  }
  const double best_s = Percentile(wall_s, 0.5);
  json result = {{"predictMedianNs", Percentile(predict_ns, 0.5)},
                 {"predictP99Ns", Percentile(predict_ns, 0.99)},
                 {"classifyMedianNs", Percentile(classify_ns, 0.5)},
                 {"classifyP99Ns", Percentile(classify_ns, 0.99)},
                 {"explainMedianNs", Percentile(explain_ns, 0.5)},
                 {"referenceExplainMedianNs", Percentile(reference_ns, 0.5)},
                 {"explainAllRows", table.rows},
                 {"explainAllRowsMs", Percentile(explain_all_ms, 0.5)},
                 {"explainerStateBytes", explainer->memory_bytes()},
                 {"batchExams", batch},
                 {"batchExamsPerSecond", batch / best_s},
                 {"batchNsPerExam", best_s * 1e9 / batch},
                 {"batchCpuNsPerExam", Percentile(cpu_s, 0.5) * 1e9 / batch},
                 {"trees", model.trees.size()},
                 {"sink", static_cast<double>(sink)}};
  std::printf("%s\n", result.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: fetal-wasm-reference classify|predict-batch|explain-batch|validate|train-xgboost|"
        "bench "
        "--flag value...\n");
    return 2;
  }
  std::string verb = argv[1];
  std::map<std::string, std::string> flags = ParseFlags(argc, argv);
  if (verb == "classify") return Classify(flags);
  if (verb == "validate") return Validate(flags);
  if (verb == "predict-batch") return PredictBatch(flags);
  if (verb == "explain-batch") return ExplainBatch(flags);
  if (verb == "train-xgboost") return TrainXgboost(flags);
  if (verb == "bench") return Bench(flags);
  Die("unknown verb " + verb);
}
