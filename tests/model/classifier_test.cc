// Classifier: Classify() is exactly the separate steps (validator, evaluator, explainer, OOD,
// FIGO) on every exam, refuses invalid exams with their findings, is safe to call from several
// threads, and the agreement rule holds at its edges.
#include "fetal/classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
#include "fetal/figo.h"
#include "fetal/ood.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"
#include "fetal/validator.h"
#include "test_exams.h"

namespace fetal {
namespace {

// A model trained on the published data as `fetal-model train --search fixed` does with the
// default recipe (its inputs re-express the histogram mean and median relative to the baseline;
// it carries prediction sets), smaller (180 trees) so that explaining every row stays quick
// under the sanitizers. Trained once per test binary.
const Model& TrainedModel() {
  static const Model* model = [] {
    trainer::Dataset data;
    if (!trainer::LoadDataset(testing::DatasetPath(), &data).ok()) std::abort();
    trainer::TrainParams params;
    params.rounds = 60;
    params.inner_folds = 3;
    trainer::SearchSpace fixed;
    if (!trainer::SearchSpace::Named("fixed", params, &fixed)) std::abort();
    auto* m = new Model;
    if (!trainer::TrainModel(data, fixed, params, "2026-01-01T00:00:00Z", nullptr, m, nullptr)
             .ok()) {
      std::abort();
    }
    return m;
  }();
  return *model;
}

std::unique_ptr<Classifier> MakeClassifier(const Model& model) {
  std::unique_ptr<Classifier> classifier;
  Status s = Classifier::Create(model, &classifier);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return classifier;
}

// Every dataset row, and each row again with one feature (cycling through them) pushed past
// its training maximum: some of those still pass validation (with a training-range warning,
// an out-of-range feature, a larger distance, often a FIGO flag), others break a hard limit or
// a cross-field rule and must not be classified.
std::vector<std::vector<float>> Exams(const Model& model) {
  ExamTable table;
  EXPECT_TRUE(testing::LoadDataset(&table));
  std::vector<std::vector<float>> exams;
  for (size_t r = 0; r < table.rows; ++r) {
    const float* x = &table.features[r * kNumFeatures];
    exams.emplace_back(x, x + kNumFeatures);
    std::vector<float> pushed(x, x + kNumFeatures);
    const int f = int(r % kNumFeatures);
    const float span = model.training_range.max[f] - model.training_range.min[f];
    pushed[f] = model.training_range.max[f] + std::max(1.0f, 0.25f * span);
    exams.push_back(pushed);
  }
  return exams;
}

void ExpectSameFindings(const std::vector<Finding>& expected, const std::vector<Finding>& actual,
                        const std::string& where) {
  ASSERT_EQ(expected.size(), actual.size()) << where;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].feature, actual[i].feature) << where;
    EXPECT_EQ(expected[i].severity, actual[i].severity) << where;
    EXPECT_EQ(expected[i].rule, actual[i].rule) << where;
    EXPECT_EQ(expected[i].message, actual[i].message) << where;
  }
}

void ExpectSameFigo(const FigoResult& expected, const FigoResult& actual,
                    const std::string& where) {
  EXPECT_EQ(expected.figo_class, actual.figo_class) << where;
  ASSERT_EQ(expected.flags.size(), actual.flags.size()) << where;
  for (size_t i = 0; i < expected.flags.size(); ++i) {
    EXPECT_EQ(expected.flags[i].id, actual.flags[i].id) << where;
    EXPECT_EQ(expected.flags[i].level, actual.flags[i].level) << where;
    EXPECT_EQ(expected.flags[i].value, actual.flags[i].value) << where;
    EXPECT_EQ(expected.flags[i].message, actual.flags[i].message) << where;
  }
}

// Two results of the same exam, field by field, bit for bit.
void ExpectSameClassification(const Classification& a, const Classification& b,
                              const std::string& where) {
  ExpectSameFindings(a.findings, b.findings, where);
  ASSERT_EQ(a.classified, b.classified) << where;
  EXPECT_EQ(a.predicted_class, b.predicted_class) << where;
  EXPECT_EQ(a.probabilities, b.probabilities) << where;
  EXPECT_EQ(a.raw_probabilities, b.raw_probabilities) << where;
  EXPECT_EQ(a.margins, b.margins) << where;
  EXPECT_EQ(a.contributions, b.contributions) << where;
  EXPECT_EQ(a.has_ood_reference, b.has_ood_reference) << where;
  EXPECT_EQ(std::isnan(a.ood.distance), std::isnan(b.ood.distance)) << where;
  if (!std::isnan(a.ood.distance)) {
    EXPECT_EQ(a.ood.distance, b.ood.distance) << where;
  }
  EXPECT_EQ(a.ood.out_of_distribution, b.ood.out_of_distribution) << where;
  EXPECT_EQ(a.ood.out_of_range, b.ood.out_of_range) << where;
  ExpectSameFigo(a.figo, b.figo, where);
  EXPECT_EQ(a.prediction_set, b.prediction_set) << where;
  EXPECT_EQ(a.refer_for_review, b.refer_for_review) << where;
}

TEST(ClassifierTest, ClassifyIsTheSeparateStepsOnEveryDatasetRow) {
  const Model& model = TrainedModel();
  std::unique_ptr<Classifier> classifier = MakeClassifier(model);
  ASSERT_TRUE(classifier);
  ASSERT_TRUE(classifier->has_ood_reference());
  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<Explainer> explainer;
  ASSERT_TRUE(Evaluator::Create(model, &evaluator).ok());
  ASSERT_TRUE(Explainer::Create(model, &explainer).ok());

  ASSERT_FALSE(model.input_differences.empty());
  ASSERT_GT(model.conformal.level, 0);
  size_t classified = 0, refused = 0, with_warnings = 0, with_flags = 0, out_of_range = 0;
  size_t wide_sets = 0, referred = 0;
  Classification c;
  for (const std::vector<float>& exam : Exams(model)) {
    const float* x = exam.data();
    float inputs[kNumFeatures];  // what the trees see
    ModelInputs(model.input_differences, x, inputs);
    const std::string where = "exam " + std::to_string(classified + refused);
    classifier->Classify(x, ClassifyOptions(), &c);

    const std::vector<Finding> findings = ValidateExam(x, &model.training_range);
    ExpectSameFindings(findings, c.findings, where);
    ASSERT_EQ(c.classified, IsAcceptable(findings)) << where;
    if (!c.classified) {
      ++refused;
      continue;
    }
    ++classified;
    size_t warnings = 0;
    for (const Finding& f : findings) warnings += f.severity == Severity::kWarning;
    EXPECT_EQ(c.warning_count(), warnings) << where;
    with_warnings += warnings > 0;

    float margins[kNumClasses], p[kNumClasses], raw[kNumClasses], fast[kNumClasses];
    evaluator->Margins(inputs, margins);
    evaluator->Predict(inputs, p);
    evaluator->PredictRaw(inputs, raw);
    classifier->Predict(x, fast);
    for (int k = 0; k < kNumClasses; ++k) {
      EXPECT_EQ(c.margins[k], margins[k]) << where;
      EXPECT_EQ(c.probabilities[k], p[k]) << where;
      EXPECT_EQ(c.raw_probabilities[k], raw[k]) << where;
    }
    EXPECT_EQ(c.predicted_class, ArgMax(p)) << where;
    for (int k = 0; k < kNumClasses; ++k) EXPECT_EQ(fast[k], p[k]) << where;

    const unsigned set = PredictionSet(model.conformal, p);
    EXPECT_EQ(c.prediction_set, set) << where;
    EXPECT_TRUE((set >> c.predicted_class) & 1u) << where;
    for (int k = 0; k < kNumClasses; ++k) {
      EXPECT_EQ(((set >> k) & 1u) != 0, k == c.predicted_class || p[k] >= model.conformal.floor[k])
          << where;
    }
    wide_sets += (set & (set - 1)) != 0;

    std::vector<float> contributions(kNumClasses * kContributionsPerClass);
    explainer->Explain(inputs, contributions.data());
    EXPECT_EQ(c.contributions, contributions) << where;

    const OodResult ood = CheckOod(model, x);
    EXPECT_TRUE(c.has_ood_reference);
    EXPECT_EQ(c.ood.distance, ood.distance) << where;
    EXPECT_EQ(c.ood.threshold, ood.threshold) << where;
    EXPECT_EQ(c.ood.out_of_distribution, ood.out_of_distribution) << where;
    EXPECT_EQ(c.ood.out_of_range, ood.out_of_range) << where;
    out_of_range += !ood.out_of_range.empty();

    const FigoResult figo = EvaluateFigo(x);
    ExpectSameFigo(figo, c.figo, where);
    with_flags += !figo.flags.empty();

    EXPECT_EQ(c.refer_for_review,
              (set & (set - 1)) != 0 || ood.out_of_distribution || !ood.out_of_range.empty())
        << where;
    referred += c.refer_for_review;
  }
  // The exams reach every branch compared above.
  EXPECT_GT(classified, 2126u);
  EXPECT_GT(refused, 0u);
  EXPECT_GT(with_warnings, 0u);
  EXPECT_GT(out_of_range, 0u);
  EXPECT_GT(with_flags, 0u);
  EXPECT_GT(wide_sets, 0u);
  EXPECT_GT(referred, wide_sets);
}

TEST(ClassifierTest, BatchPredictionEqualsOneExamAtATime) {
  const Model& model = TrainedModel();
  std::unique_ptr<Classifier> classifier = MakeClassifier(model);
  ASSERT_TRUE(classifier);
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  // More rows than one chunk of the batch path, and not a multiple of it.
  const size_t n = 203;
  std::vector<float> batch(n * kNumClasses);
  classifier->PredictBatch(table.features.data(), n, batch.data());
  for (size_t i = 0; i < n; ++i) {
    float one[kNumClasses];
    classifier->Predict(&table.features[i * kNumFeatures], one);
    for (int k = 0; k < kNumClasses; ++k) EXPECT_EQ(batch[i * kNumClasses + k], one[k]) << i;
  }
}

TEST(ClassifierTest, TheTreesSeeTheReExpressedInputs) {
  // The same model without its input differences is a different function of the exam.
  Model plain = TrainedModel();
  plain.input_differences.clear();
  std::unique_ptr<Classifier> with = MakeClassifier(TrainedModel()),
                              without = MakeClassifier(plain);
  ASSERT_TRUE(with && without);
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  size_t differ = 0;
  for (size_t r = 0; r < table.rows; ++r) {
    float a[kNumClasses], b[kNumClasses];
    with->Predict(&table.features[r * kNumFeatures], a);
    without->Predict(&table.features[r * kNumFeatures], b);
    differ += a[0] != b[0];
  }
  EXPECT_GT(differ, table.rows / 2);
}

TEST(ClassifierTest, AModelWithoutSetsGivesNoSetAndRefersOnlyUnusualExams) {
  Model model = TrainedModel();
  model.conformal = ConformalSets();
  std::unique_ptr<Classifier> classifier = MakeClassifier(model);
  ASSERT_TRUE(classifier);
  Classification c;
  const auto exam = testing::ValidExam();
  classifier->Classify(exam.data(), ClassifyOptions(), &c);
  ASSERT_TRUE(c.classified);
  EXPECT_EQ(c.prediction_set, 0u);
  EXPECT_EQ(c.refer_for_review, c.ood.out_of_distribution || !c.ood.out_of_range.empty());
}

TEST(ClassifierTest, WithoutExplainThereAreNoContributionsAndTheRestIsTheSame) {
  std::unique_ptr<Classifier> classifier = MakeClassifier(TrainedModel());
  ASSERT_TRUE(classifier);
  const auto exam = testing::ValidExam();
  Classification full, fast;
  classifier->Classify(exam.data(), ClassifyOptions(), &full);
  ClassifyOptions no_explain;
  no_explain.explain = false;
  classifier->Classify(exam.data(), no_explain, &fast);
  ASSERT_TRUE(fast.classified);
  EXPECT_TRUE(fast.contributions.empty());
  fast.contributions = full.contributions;
  ExpectSameClassification(full, fast, "valid exam");
}

TEST(ClassifierTest, AnInvalidExamIsNotClassifiedAndCarriesItsFindings) {
  std::unique_ptr<Classifier> classifier = MakeClassifier(TrainedModel());
  ASSERT_TRUE(classifier);
  auto exam = testing::ValidExam();
  exam[0] = -5;   // baseline below its hard limit
  exam[1] = NAN;  // accelerations missing
  Classification c;
  c.predicted_class = 2;  // stale content must not survive
  c.contributions.assign(3, 1.0f);
  classifier->Classify(exam.data(), ClassifyOptions(), &c);
  EXPECT_FALSE(c.classified);
  ExpectSameFindings(ValidateExam(exam.data(), &TrainedModel().training_range), c.findings,
                     "invalid exam");
  ASSERT_GE(c.findings.size(), 2u);
  EXPECT_EQ(c.findings[0].feature, 0);
  EXPECT_EQ(c.findings[0].severity, Severity::kError);
  EXPECT_EQ(c.findings[1].feature, 1);
  EXPECT_EQ(c.findings[1].rule, "not_finite");
  // Nothing beyond the findings is set.
  EXPECT_EQ(c.predicted_class, -1);
  EXPECT_EQ(c.probabilities, (std::array<float, kNumClasses>{}));
  EXPECT_EQ(c.margins, (std::array<float, kNumClasses>{}));
  EXPECT_TRUE(c.contributions.empty());
  EXPECT_TRUE(c.ood.out_of_range.empty());
  EXPECT_TRUE(c.figo.flags.empty());
}

TEST(ClassifierTest, ConcurrentClassifyFromFourThreadsEqualsSerial) {
  std::unique_ptr<Classifier> classifier = MakeClassifier(TrainedModel());
  ASSERT_TRUE(classifier);
  std::vector<std::vector<float>> exams = Exams(TrainedModel());
  exams.resize(400);
  std::vector<Classification> serial(exams.size());
  for (size_t i = 0; i < exams.size(); ++i) {
    classifier->Classify(exams[i].data(), ClassifyOptions(), &serial[i]);
  }
  constexpr int kThreads = 4;
  std::vector<std::vector<Classification>> results(kThreads,
                                                   std::vector<Classification>(exams.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread starts at a different exam, so different exams (and explainers) overlap.
      for (size_t k = 0; k < exams.size(); ++k) {
        const size_t i = (k + t * exams.size() / kThreads) % exams.size();
        classifier->Classify(exams[i].data(), ClassifyOptions(), &results[t][i]);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 0; i < exams.size(); ++i) {
      ExpectSameClassification(serial[i], results[t][i],
                               "thread " + std::to_string(t) + " exam " + std::to_string(i));
    }
  }
}

// The trained model's metadata with one tree instead of its own: `depth` splits down the left
// side (nodes 0..depth-1), each with a leaf of its own on the right (nodes depth+1..2*depth),
// and the bottom-left leaf (node depth).
Model ChainModel(int depth) {
  Model m = TrainedModel();
  Tree chain;
  chain.target_class = 0;
  const int nodes = 2 * depth + 1;
  chain.left.assign(nodes, -1);
  chain.right.assign(nodes, -1);
  chain.feature.assign(nodes, 0);
  chain.value.assign(nodes, 0.5f);
  chain.default_left.assign(nodes, 1);
  chain.cover.assign(nodes, 1.0f);
  for (int d = 0; d < depth; ++d) {
    chain.left[d] = d + 1;  // the next split, or (d = depth - 1) the bottom-left leaf
    chain.right[d] = depth + 1 + d;
    chain.feature[d] = d % kNumFeatures;
    chain.value[d] = float(d);
  }
  for (int n = nodes - 1; n >= 0; --n) {
    if (chain.left[n] >= 0)
      chain.cover[n] = chain.cover[chain.left[n]] + chain.cover[chain.right[n]];
  }
  m.trees = {chain};
  return m;
}

TEST(ClassifierTest, CreateRefusesAModelTooDeepToExplain) {
  Model deep = ChainModel(kMaxExplainDepth + 1);
  ASSERT_TRUE(CheckModel(deep).ok()) << CheckModel(deep).ToString();
  ASSERT_EQ(TreeDepth(deep.trees[0]), kMaxExplainDepth + 1);
  std::unique_ptr<Classifier> classifier;
  Status s = Classifier::Create(deep, &classifier);
  EXPECT_EQ(s.code(), Status::Code::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("depth"), std::string::npos) << s.ToString();
  EXPECT_FALSE(classifier);

  // At the limit it is accepted and explains.
  Model deepest = ChainModel(kMaxExplainDepth);
  ASSERT_TRUE(Classifier::Create(deepest, &classifier).ok());
  const auto exam = testing::ValidExam();
  Classification c;
  classifier->Classify(exam.data(), ClassifyOptions(), &c);
  ASSERT_TRUE(c.classified);
  std::unique_ptr<Explainer> explainer;
  ASSERT_TRUE(Explainer::Create(deepest, &explainer).ok());
  std::vector<float> contributions(kNumClasses * kContributionsPerClass);
  float inputs[kNumFeatures];
  ModelInputs(deepest.input_differences, exam.data(), inputs);
  explainer->Explain(inputs, contributions.data());
  EXPECT_EQ(c.contributions, contributions);
}

TEST(ClassifierTest, CreateRefusesAModelCheckModelRefuses) {
  Model broken = TrainedModel();
  broken.trees[3].left[0] = 0;  // a cycle back to the root
  std::unique_ptr<Classifier> classifier;
  EXPECT_FALSE(Classifier::Create(broken, &classifier).ok());
  EXPECT_FALSE(classifier);
}

// A model from anywhere but a bundle just read is checked in full, each rule on its own: the
// check that CreateFromBundle leaves to ReadBundle is not left out of Create.
TEST(ClassifierTest, CreateRefusesEachRuleBrokenAlone) {
  std::vector<Model> broken(4, TrainedModel());
  broken[0].params_json = "[1, 2]";            // params not a JSON object
  broken[1].trees[5].feature[0] = 40;          // split on a feature out of range
  broken[2].trees[7].value[0] = NAN;           // threshold not finite
  broken[3].ood.inverse_covariance.resize(3);  // neither 0 nor 21x21 values
  for (size_t i = 0; i < broken.size(); ++i) {
    std::unique_ptr<Classifier> classifier;
    Status s = Classifier::Create(broken[i], &classifier);
    EXPECT_FALSE(s.ok()) << "model " << i;
    EXPECT_FALSE(classifier) << "model " << i;
    std::unique_ptr<Evaluator> evaluator;
    EXPECT_EQ(Evaluator::Create(broken[i], &evaluator).code(), s.code()) << "model " << i;
    EXPECT_FALSE(evaluator) << "model " << i;
  }
}

TEST(ClassifierTest, CreateFromBundleIsReadBundleThenCreate) {
  const std::vector<uint8_t> bytes = WriteBundle(TrainedModel());
  Model read;
  ASSERT_TRUE(ReadBundle(bytes.data(), bytes.size(), &read).ok());
  std::unique_ptr<Classifier> expected = MakeClassifier(read);
  std::unique_ptr<Classifier> loaded;
  Status s = Classifier::CreateFromBundle(bytes.data(), bytes.size(), BundleReadOptions(), &loaded);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(loaded->model().params_json, read.params_json);
  EXPECT_EQ(loaded->evaluator().max_depth(), expected->evaluator().max_depth());
  for (const std::vector<float>& exam : Exams(TrainedModel())) {
    Classification a, b;
    loaded->Classify(exam.data(), ClassifyOptions(), &a);
    expected->Classify(exam.data(), ClassifyOptions(), &b);
    ASSERT_EQ(a.classified, b.classified);
    EXPECT_EQ(a.margins, b.margins);
    EXPECT_EQ(a.probabilities, b.probabilities);
    EXPECT_EQ(a.contributions, b.contributions);
  }

  // What ReadBundle refuses, CreateFromBundle refuses with the same status, and makes nothing.
  std::vector<uint8_t> damaged = bytes;
  damaged[damaged.size() / 2] ^= 1;
  Model scratch;
  const Status read_status = ReadBundle(damaged.data(), damaged.size(), &scratch);
  ASSERT_FALSE(read_status.ok());
  s = Classifier::CreateFromBundle(damaged.data(), damaged.size(), BundleReadOptions(), &loaded);
  EXPECT_EQ(s.ToString(), read_status.ToString());
  std::unique_ptr<Classifier> none;
  EXPECT_FALSE(
      Classifier::CreateFromBundle(damaged.data(), damaged.size(), BundleReadOptions(), &none)
          .ok());
  EXPECT_FALSE(none);
}

TEST(ClassifierTest, WithoutAnOodReferenceTheDistanceIsUnknownAndRangesStillListed) {
  Model model = TrainedModel();
  model.ood.inverse_covariance.clear();
  std::unique_ptr<Classifier> classifier = MakeClassifier(model);
  ASSERT_TRUE(classifier);
  EXPECT_FALSE(classifier->has_ood_reference());
  auto exam = testing::ValidExam();
  exam[0] = model.training_range.max[0] + 1;  // still within the hard limits
  Classification c;
  classifier->Classify(exam.data(), ClassifyOptions(), &c);
  ASSERT_TRUE(c.classified);
  EXPECT_FALSE(c.has_ood_reference);
  EXPECT_TRUE(std::isnan(c.ood.distance));
  EXPECT_TRUE(std::isnan(c.ood.threshold));
  EXPECT_FALSE(c.ood.out_of_distribution);
  EXPECT_EQ(c.ood.out_of_range, std::vector<int>{0});
}

// ---- the agreement rule ----

Classification ServerResult(int predicted_class, std::array<float, kNumClasses> probabilities) {
  Classification c;
  c.classified = true;
  c.predicted_class = predicted_class;
  c.probabilities = probabilities;
  return c;
}

TEST(CompareResultsTest, AgreesAtTheToleranceAndNotJustPastIt) {
  // 0 and 1 are exact in float and double, so the differences below are exactly the offsets.
  const Classification server = ServerResult(0, {1.0f, 0.0f, 0.0f});
  Agreement at = CompareResults(0, {1.0, kAgreementTolerance, 0.0}, server);
  EXPECT_TRUE(at.agree);
  EXPECT_EQ(at.max_abs_difference, kAgreementTolerance);

  const double past = std::nextafter(kAgreementTolerance, 1.0);
  Agreement beyond = CompareResults(0, {1.0, 0.0, past}, server);
  EXPECT_FALSE(beyond.agree);
  EXPECT_EQ(beyond.max_abs_difference, past);

  Agreement below = CompareResults(0, {1.0, -past, 0.0}, server);
  EXPECT_FALSE(below.agree) << "the difference counts in both directions";
}

TEST(CompareResultsTest, ADifferentClassNeverAgrees) {
  const Classification server = ServerResult(1, {0.25f, 0.5f, 0.25f});
  Agreement a = CompareResults(2, {0.25, 0.5, 0.25}, server);
  EXPECT_FALSE(a.agree);
  EXPECT_EQ(a.max_abs_difference, 0.0);
  EXPECT_TRUE(CompareResults(1, {0.25, 0.5, 0.25}, server).agree);
}

TEST(CompareResultsTest, ProbabilitiesRoundedForTransportAgree) {
  std::unique_ptr<Classifier> classifier = MakeClassifier(TrainedModel());
  ASSERT_TRUE(classifier);
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  Classification server;
  for (size_t r = 0; r < table.rows; r += 7) {
    classifier->Classify(&table.features[r * kNumFeatures], ClassifyOptions(), &server);
    if (!server.classified) continue;
    // What a browser sends: each probability printed with 6 significant digits and read back.
    std::array<double, kNumClasses> client;
    for (int k = 0; k < kNumClasses; ++k) {
      char text[32];
      std::snprintf(text, sizeof text, "%.6g", double(server.probabilities[k]));
      client[k] = std::strtod(text, nullptr);
    }
    EXPECT_TRUE(CompareResults(server.predicted_class, client, server).agree) << "row " << r;
  }
}

}  // namespace
}  // namespace fetal
