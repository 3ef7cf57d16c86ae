// Parity with libxgboost: models trained in-process with the XGBoost C API (the default model's
// booster, and imported depth-4, -6 and -8 models), imported from its JSON, written to a bundle
// and read back; then every row of the dataset (and the same rows with missing values, infinities
// and -0) must get libxgboost's probabilities, margins and TreeSHAP contributions. The shipped
// recipe, trained by the trainer on model inputs (features re-expressed), is checked through the
// Classifier, which computes those inputs itself, single exam and batch.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
#include "fetal/trainer/booster.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"
#include "xgb_oracle.h"

namespace fetal {
namespace {

using testing::Dataset;
using testing::TrainParams;
using testing::XgbOracle;

constexpr double kProbabilityTolerance = 1e-5;
constexpr double kContributionTolerance = 1e-4;

const Dataset& Data() {
  static const Dataset* data = [] {
    auto* d = new Dataset();
    Status s = testing::LoadDataset(std::string(FETAL_DATA_DIR) + "/fetal_health.csv", d);
    if (!s.ok()) {
      ADD_FAILURE() << s.ToString();
    }
    return d;
  }();
  return *data;
}

// The dataset with missing values: in each row a few features (different ones per row) are NaN,
// so every feature is missing in some rows and both default directions get exercised.
std::vector<float> WithMissingValues(const Dataset& data) {
  std::vector<float> x = data.features;
  for (size_t r = 0; r < data.rows; ++r) {
    for (int k = 0; k < 1 + int(r % 4); ++k) {
      x[r * kNumFeatures + (r * 7 + size_t(k) * 5) % kNumFeatures] = NAN;
    }
  }
  return x;
}

// The dataset with the other values a batch can carry: +-inf and -0 in a few features per row
// (different ones per row), and NaN in some.
std::vector<float> WithSpecialValues(const Dataset& data) {
  std::vector<float> x = data.features;
  const float special[] = {std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(), -0.0f, NAN};
  for (size_t r = 0; r < data.rows; ++r) {
    for (int k = 0; k < 2; ++k) {
      x[r * kNumFeatures + (r * 5 + size_t(k) * 11) % kNumFeatures] = special[(r + size_t(k)) % 4];
    }
  }
  return x;
}

struct Case {
  const char* name;
  TrainParams params;
  bool default_model = false;  // true: the shipped default, trained as `fetal-model train` does
};

// The booster behind the default model: the trainer's parameters on the de-duplicated rows, as
// `fetal-model train` (and bench/model) trains it. Its trees split on the model inputs; here they
// are fed rows as they are, which checks the trees alone.
std::string DefaultModelJson() {
  trainer::Dataset data;
  Status s = trainer::LoadDataset(std::string(FETAL_DATA_DIR) + "/fetal_health.csv", &data);
  std::unique_ptr<trainer::Booster> booster;
  if (s.ok()) {
    const std::vector<size_t> rows =
        trainer::DeduplicateRows(data.table, trainer::AllRows(data.table));
    s = trainer::Booster::Train(data.table, rows, trainer::TrainParams(), &booster);
  }
  std::string json;
  if (s.ok()) s = booster->SaveJson(&json);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return json;
}
// Names the case in test listings (ctest shows them) instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Training and importing once per model keeps the suite quick; every test reads it only.
struct Trained {
  std::unique_ptr<XgbOracle> oracle;
  Model model;  // imported, written to a bundle and read back
  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<Explainer> explainer;
};

class ParityTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    // Never destroyed: freeing a booster after libxgboost's own statics are gone crashes at exit.
    static auto* cache = new std::map<std::string, std::unique_ptr<Trained>>();
    std::unique_ptr<Trained>& trained = (*cache)[GetParam().name];
    if (!trained) {
      const Dataset& data = Data();
      ASSERT_EQ(data.rows, 2126u);
      auto t = std::make_unique<Trained>();
      t->oracle = GetParam().default_model ? std::make_unique<XgbOracle>(DefaultModelJson())
                                           : std::make_unique<XgbOracle>(data, GetParam().params);
      Model imported;
      Status s = ImportXgboostJson(t->oracle->SaveJson(), &imported);
      ASSERT_TRUE(s.ok()) << s.ToString();
      // Everything below runs on the model as read back from its bundle.
      const std::vector<uint8_t> bytes = WriteBundle(imported);
      s = ReadBundle(bytes.data(), bytes.size(), &t->model);
      ASSERT_TRUE(s.ok()) << s.ToString();
      if (!GetParam().default_model) {
        ASSERT_EQ(t->model.trees.size(), size_t(3 * GetParam().params.rounds));
      }
      ASSERT_TRUE(Evaluator::Create(t->model, &t->evaluator).ok());
      ASSERT_TRUE(Explainer::Create(t->model, &t->explainer).ok());
      trained = std::move(t);
    }
    oracle_ = trained->oracle.get();
    model_ = &trained->model;
    evaluator_ = trained->evaluator.get();
    explainer_ = trained->explainer.get();
  }

  // libxgboost refuses infinities in its input; +-FLT_MAX stands in for them there (thresholds
  // are finite, so every split decides the same way).
  static std::vector<float> ForOracle(std::vector<float> x) {
    for (float& v : x) {
      if (std::isinf(v)) v = std::copysign(std::numeric_limits<float>::max(), v);
    }
    return x;
  }

  void ExpectProbabilitiesMatch(const std::vector<float>& x) {
    const size_t n = x.size() / kNumFeatures;
    const std::vector<float> expected =
        oracle_->Predict(ForOracle(x).data(), n, XgbOracle::Output::kProbabilities);
    ASSERT_EQ(expected.size(), n * kNumClasses);
    std::vector<float> batch(n * kNumClasses);
    evaluator_->PredictBatchRaw(x.data(), n, batch.data());
    double worst = 0;
    for (size_t r = 0; r < n; ++r) {
      float single[kNumClasses];
      evaluator_->PredictRaw(&x[r * kNumFeatures], single);
      for (int c = 0; c < kNumClasses; ++c) {
        const size_t i = r * kNumClasses + c;
        ASSERT_NEAR(single[c], expected[i], kProbabilityTolerance) << "row " << r << " class " << c;
        ASSERT_EQ(batch[i], single[c]) << "batch and single differ at row " << r;
        worst = std::max(worst, std::abs(double(single[c]) - expected[i]));
      }
    }
    RecordProperty("max_probability_difference", std::to_string(worst));
  }

  void ExpectMarginsMatch(const std::vector<float>& x) {
    const size_t n = x.size() / kNumFeatures;
    const std::vector<float> expected =
        oracle_->Predict(ForOracle(x).data(), n, XgbOracle::Output::kMargins);
    ASSERT_EQ(expected.size(), n * kNumClasses);
    for (size_t r = 0; r < n; ++r) {
      float margins[kNumClasses];
      evaluator_->Margins(&x[r * kNumFeatures], margins);
      for (int c = 0; c < kNumClasses; ++c) {
        ASSERT_NEAR(margins[c], expected[r * kNumClasses + c], 1e-5 * (1 + std::abs(margins[c])))
            << "row " << r << " class " << c;
      }
    }
  }

  void ExpectContributionsMatch(const std::vector<float>& x) {
    const size_t n = x.size() / kNumFeatures;
    const std::vector<float> expected =
        oracle_->Predict(ForOracle(x).data(), n, XgbOracle::Output::kContributions);
    ASSERT_EQ(expected.size(), n * kNumClasses * kContributionsPerClass);
    float contributions[kNumClasses * kContributionsPerClass];
    for (size_t r = 0; r < n; ++r) {
      explainer_->Explain(&x[r * kNumFeatures], contributions);
      float margins[kNumClasses];
      evaluator_->Margins(&x[r * kNumFeatures], margins);
      for (int c = 0; c < kNumClasses; ++c) {
        double sum = 0;
        for (int j = 0; j < kContributionsPerClass; ++j) {
          const size_t i = size_t(c) * kContributionsPerClass + j;
          ASSERT_NEAR(contributions[i], expected[r * kNumClasses * kContributionsPerClass + i],
                      kContributionTolerance)
              << "row " << r << " class " << c << " column " << j;
          sum += contributions[i];
        }
        ASSERT_NEAR(sum, margins[c], kContributionTolerance) << "row " << r << " class " << c;
      }
    }
  }

  const XgbOracle* oracle_ = nullptr;
  const Model* model_ = nullptr;
  const Evaluator* evaluator_ = nullptr;
  const Explainer* explainer_ = nullptr;
};

TEST_P(ParityTest, ProbabilitiesMatchLibxgboostOnEveryRow) {
  ExpectProbabilitiesMatch(Data().features);
}

TEST_P(ParityTest, MarginsMatchLibxgboostOutputMargin) { ExpectMarginsMatch(Data().features); }

TEST_P(ParityTest, ContributionsMatchPredContribsAndSumToMargin) {
  ExpectContributionsMatch(Data().features);
}

TEST_P(ParityTest, MissingValuesFollowTheDefaultChildLikeLibxgboost) {
  const std::vector<float> x = WithMissingValues(Data());
  ExpectProbabilitiesMatch(x);
  ExpectMarginsMatch(x);
  ExpectContributionsMatch(x);
}

TEST_P(ParityTest, InfinitiesAndNegativeZeroFollowLibxgboost) {
  const std::vector<float> x = WithSpecialValues(Data());
  ExpectProbabilitiesMatch(x);
  ExpectMarginsMatch(x);
  ExpectContributionsMatch(x);
}

// The fast kernels (AVX-512 where the CPU has it: vector and deep tables, QuickScorer batch)
// against the portable scalar code, on every row as it is, with missing values and with
// infinities and -0: the same margins and contributions bit for bit, single exam and batch.
TEST_P(ParityTest, EveryKernelGivesTheScalarBitsOnEveryRow) {
  const Dataset& data = Data();
  const std::vector<float> inputs[] = {data.features, WithMissingValues(data),
                                       WithSpecialValues(data)};
  setenv("FETAL_EVALUATOR_KERNEL", "scalar", 1);
  std::unique_ptr<Evaluator> scalar;
  std::unique_ptr<Explainer> scalar_explainer;
  const bool created = Evaluator::Create(*model_, &scalar).ok() &&
                       Explainer::Create(*model_, &scalar_explainer).ok();
  unsetenv("FETAL_EVALUATOR_KERNEL");
  ASSERT_TRUE(created);
  const size_t n = data.rows;
  for (const std::vector<float>& x : inputs) {
    std::vector<float> fast_batch(n * kNumClasses), scalar_batch(n * kNumClasses);
    evaluator_->PredictBatchRaw(x.data(), n, fast_batch.data());
    scalar->PredictBatchRaw(x.data(), n, scalar_batch.data());
    EXPECT_EQ(fast_batch, scalar_batch);
    std::vector<float> fast_margins(n * kNumClasses), scalar_margins(n * kNumClasses);
    for (size_t r = 0; r < n; ++r) {
      evaluator_->Margins(&x[r * kNumFeatures], &fast_margins[r * kNumClasses]);
      scalar->Margins(&x[r * kNumFeatures], &scalar_margins[r * kNumClasses]);
    }
    EXPECT_EQ(fast_margins, scalar_margins);
    std::vector<float> fast_phi(n * kNumClasses * kContributionsPerClass),
        scalar_phi(fast_phi.size());
    explainer_->ExplainBatch(x.data(), n, fast_phi.data());
    scalar_explainer->ExplainBatch(x.data(), n, scalar_phi.data());
    EXPECT_EQ(fast_phi, scalar_phi);
  }
}

TEST_P(ParityTest, BundleRoundTripKeepsEveryPrediction) {
  // Predictions from the imported model before any bundle round trip equal those after it.
  Model direct;
  ASSERT_TRUE(ImportXgboostJson(oracle_->SaveJson(), &direct).ok());
  std::unique_ptr<Evaluator> direct_evaluator;
  ASSERT_TRUE(Evaluator::Create(direct, &direct_evaluator).ok());
  const Dataset& data = Data();
  std::vector<float> a(data.rows * kNumClasses), b(data.rows * kNumClasses);
  direct_evaluator->PredictBatchRaw(data.features.data(), data.rows, a.data());
  evaluator_->PredictBatchRaw(data.features.data(), data.rows, b.data());
  EXPECT_EQ(a, b);
}

INSTANTIATE_TEST_SUITE_P(Models, ParityTest,
                         ::testing::Values(Case{"DefaultModel", {}, true},
                                           Case{"Depth6Rounds200", {6, 0.3, 200, 0.5}},
                                           Case{"Depth8Rounds200", {8, 0.3, 200, 0.5}},
                                           Case{"Depth4Eta005Rounds300", {4, 0.05, 300, 0.5}}),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return std::string(p.param.name);
                         });

// XGBoost 1.7 adds base_score to every class margin as it is; the importer must carry it over.
TEST(XgboostImportTest, BaseScoreIsAddedToEveryClassMargin) {
  const Dataset& data = Data();
  XgbOracle oracle(data, TrainParams{3, 0.3, 5, 0.2});
  Model model;
  ASSERT_TRUE(ImportXgboostJson(oracle.SaveJson(), &model).ok());
  for (int c = 0; c < kNumClasses; ++c) EXPECT_FLOAT_EQ(model.base_score[c], 0.2f);
  std::unique_ptr<Evaluator> evaluator;
  ASSERT_TRUE(Evaluator::Create(model, &evaluator).ok());
  const std::vector<float> expected =
      oracle.Predict(data.features.data(), 50, XgbOracle::Output::kMargins);
  for (size_t r = 0; r < 50; ++r) {
    float margins[kNumClasses];
    evaluator->Margins(&data.features[r * kNumFeatures], margins);
    for (int c = 0; c < kNumClasses; ++c) {
      EXPECT_NEAR(margins[c], expected[r * kNumClasses + c], 1e-6) << "row " << r;
    }
  }
}

// The shipped recipe (trainer::TrainParams' defaults: histogram mean and median relative to the
// baseline) trained by the trainer on every row: the Classifier, given the features as entered,
// returns what libxgboost returns on the model inputs — margins, probabilities and TreeSHAP.
TEST(ShippedRecipeParity, ClassifierMatchesLibxgboostOnTheModelInputsOnEveryRow) {
  const Dataset& data = Data();
  ExamTable table;
  table.rows = data.rows;
  table.features = data.features;
  for (float label : data.labels) table.labels.push_back(static_cast<int>(label));
  table.has_labels = true;
  std::vector<size_t> rows(data.rows);
  for (size_t r = 0; r < rows.size(); ++r) rows[r] = r;
  const trainer::TrainParams params;
  ASSERT_FALSE(params.input_differences.empty()) << "the shipped recipe re-expresses inputs";
  std::unique_ptr<trainer::Booster> booster;
  ASSERT_TRUE(trainer::Booster::Train(table, rows, params, &booster).ok());
  std::string json;
  ASSERT_TRUE(booster->SaveJson(&json).ok());
  const XgbOracle oracle(json);
  Model model;
  ASSERT_TRUE(ImportXgboostJson(json, &model).ok());
  model.input_differences = params.input_differences;
  const std::vector<uint8_t> bytes = WriteBundle(model);
  Model loaded;
  ASSERT_TRUE(ReadBundle(bytes.data(), bytes.size(), &loaded).ok());
  ASSERT_EQ(loaded.input_differences.size(), params.input_differences.size());
  std::unique_ptr<Classifier> classifier;
  ASSERT_TRUE(Classifier::Create(loaded, &classifier).ok());

  std::vector<float> inputs(data.features.size());
  for (size_t r = 0; r < data.rows; ++r)
    ModelInputs(params.input_differences, &data.features[r * kNumFeatures],
                &inputs[r * kNumFeatures]);
  const size_t n = data.rows;
  const std::vector<float> margins = oracle.Predict(inputs.data(), n, XgbOracle::Output::kMargins);
  const std::vector<float> probabilities =
      oracle.Predict(inputs.data(), n, XgbOracle::Output::kProbabilities);
  const std::vector<float> contributions =
      oracle.Predict(inputs.data(), n, XgbOracle::Output::kContributions);
  std::vector<float> batch(n * kNumClasses);
  classifier->PredictBatch(data.features.data(), n, batch.data());
  // The batch explanations apply the model inputs too: the same contributions as Explain.
  std::vector<float> batch_contributions(n * kNumClasses * kContributionsPerClass);
  classifier->ExplainBatch(data.features.data(), n, batch_contributions.data());
  size_t classified = 0;
  for (size_t r = 0; r < n; ++r) {
    const float* x = &data.features[r * kNumFeatures];
    for (int c = 0; c < kNumClasses; ++c)
      ASSERT_NEAR(batch[r * kNumClasses + c], probabilities[r * kNumClasses + c],
                  kProbabilityTolerance)
          << "row " << r << " class " << c;
    float explained[kNumClasses * kContributionsPerClass];
    classifier->Explain(x, explained);
    for (size_t i = 0; i < std::size(explained); ++i) {
      ASSERT_NEAR(explained[i], contributions[r * std::size(explained) + i], kContributionTolerance)
          << "row " << r << " contribution " << i;
      ASSERT_EQ(explained[i], batch_contributions[r * std::size(explained) + i])
          << "ExplainBatch differs from Explain at row " << r << " contribution " << i;
    }
    Classification result;
    ClassifyOptions no_explanation;
    no_explanation.explain = false;
    classifier->Classify(x, no_explanation, &result);
    if (!result.classified) continue;
    ++classified;
    for (int c = 0; c < kNumClasses; ++c) {
      ASSERT_NEAR(result.margins[c], margins[r * kNumClasses + c],
                  1e-5 * (1 + std::abs(result.margins[c])))
          << "row " << r << " class " << c;
      ASSERT_NEAR(result.probabilities[c], probabilities[r * kNumClasses + c],
                  kProbabilityTolerance)
          << "row " << r << " class " << c;
    }
  }
  EXPECT_GT(classified, 2000u);
}

}  // namespace
}  // namespace fetal
