// The trainer: temperature fitting, determinism, creation time, and THE accuracy test on the
// published folds.
#include "fetal/trainer/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "fetal/bundle.h"
#include "fetal/evaluator.h"

namespace fetal {
namespace trainer {
namespace {

const std::string kData = std::string(FETAL_DATA_DIR) + "/fetal_health.csv";
const std::string kFolds = std::string(FETAL_DATA_DIR) + "/cv_folds.csv";

const Dataset& PublishedData() {
  static const Dataset* data = [] {
    auto* d = new Dataset;
    Status s = LoadDataset(kData, d);
    if (!s.ok()) std::abort();
    return d;
  }();
  return *data;
}

TEST(FitTemperature, RecoversTheTemperatureOfOverconfidentMargins) {
  // Labels drawn from softmax(z); the "model" reports margins 3z (three times too confident).
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0, 1.5);
  std::uniform_real_distribution<double> uniform(0, 1);
  const size_t n = 20000;
  std::vector<float> margins(n * kNumClasses);
  std::vector<int> labels(n);
  for (size_t i = 0; i < n; ++i) {
    double z[kNumClasses], sum = 0;
    for (int c = 0; c < kNumClasses; ++c) sum += std::exp(z[c] = normal(rng));
    double u = uniform(rng) * sum;
    int y = 0;
    while (y < kNumClasses - 1 && (u -= std::exp(z[y])) > 0) ++y;
    labels[i] = y;
    for (int c = 0; c < kNumClasses; ++c) margins[i * kNumClasses + c] = float(3 * z[c]);
  }
  double t = FitTemperature(margins.data(), labels.data(), n);
  EXPECT_NEAR(t, 3.0, 0.15);
  EXPECT_LT(LogLossAtTemperature(margins.data(), labels.data(), n, t),
            LogLossAtTemperature(margins.data(), labels.data(), n, 1.0) - 0.05);
  // It is a minimum: nudging either way does not help.
  double at = LogLossAtTemperature(margins.data(), labels.data(), n, t);
  EXPECT_LE(at, LogLossAtTemperature(margins.data(), labels.data(), n, t * 1.05));
  EXPECT_LE(at, LogLossAtTemperature(margins.data(), labels.data(), n, t / 1.05));
}

TEST(FitTemperature, UnderconfidentMarginsGetATemperatureBelowOne) {
  // Margins scaled by 0.5 of a perfectly separable case: sharpening lowers the loss.
  std::vector<float> margins;
  std::vector<int> labels;
  for (int i = 0; i < 300; ++i) {
    int y = i % kNumClasses;
    for (int c = 0; c < kNumClasses; ++c) margins.push_back(c == y ? 1.0f : 0.0f);
    labels.push_back(y);
  }
  double t = FitTemperature(margins.data(), labels.data(), labels.size());
  EXPECT_LT(t, 1.0);
}

TEST(TrainParams, CheckNamesTheBadParameter) {
  TrainParams p;
  EXPECT_TRUE(p.Check().ok());
  p.eta = 0;
  EXPECT_EQ(p.Check().field(), "eta");
  p = TrainParams();
  p.class_weight[1] = -1;
  EXPECT_EQ(p.Check().field(), "class_weight");
  p = TrainParams();
  p.subsample = 1.5;
  EXPECT_EQ(p.Check().field(), "subsample");
}

TEST(ResolveCreatedTime, FlagThenSourceDateEpochThenNow) {
  std::string created;
  ASSERT_TRUE(ResolveCreatedTime("2026-11-28T10:00:00Z", &created).ok());
  EXPECT_EQ(created, "2026-11-28T10:00:00Z");
  Status bad = ResolveCreatedTime("28/11/2026", &created);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.field(), "--created");

  setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  ASSERT_TRUE(ResolveCreatedTime("", &created).ok());
  EXPECT_EQ(created, "2023-11-14T22:13:20Z");
  setenv("SOURCE_DATE_EPOCH", "soon", 1);
  EXPECT_EQ(ResolveCreatedTime("", &created).field(), "SOURCE_DATE_EPOCH");
  unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(ResolveCreatedTime("", &created).ok());
  EXPECT_EQ(created.size(), 20u);
  EXPECT_EQ(created.back(), 'Z');
}

// Small, fast parameters for the pipeline tests (the defaults are exercised by the cv test).
TrainParams SmallParams() {
  TrainParams p;
  p.rounds = 30;
  p.temperature_folds = 3;
  return p;
}

TEST(TrainModel, SameInputGivesByteIdenticalBundles) {
  TrainParams p = SmallParams();
  p.subsample = 0.8;  // exercises the seeded sampler too
  p.colsample_bytree = 0.8;
  Model a, b;
  TrainSummary summary;
  ASSERT_TRUE(TrainModel(PublishedData(), p, "2026-01-01T00:00:00Z", nullptr, &a, &summary).ok());
  ASSERT_TRUE(TrainModel(PublishedData(), p, "2026-01-01T00:00:00Z", nullptr, &b, nullptr).ok());
  std::vector<uint8_t> bytes_a = WriteBundle(a), bytes_b = WriteBundle(b);
  EXPECT_EQ(bytes_a, bytes_b);
  EXPECT_EQ(summary.duplicates_removed, 13u);
  EXPECT_EQ(summary.training_rows, 2113u);
  EXPECT_EQ(summary.removed_rows.size(), 13u);

  Model c;
  ASSERT_TRUE(TrainModel(PublishedData(), p, "2026-01-02T00:00:00Z", nullptr, &c, nullptr).ok());
  EXPECT_NE(WriteBundle(c), bytes_a) << "the creation time is part of the bundle";
}

TEST(TrainModel, FillsTheBundleAndMatchesTheBooster) {
  TrainParams p = SmallParams();
  Model model;
  ASSERT_TRUE(
      TrainModel(PublishedData(), p, "2026-01-01T00:00:00Z", nullptr, &model, nullptr).ok());
  EXPECT_EQ(model.trees.size(), size_t(p.rounds * kNumClasses));
  EXPECT_EQ(model.training_data_sha256, PublishedData().sha256);
  EXPECT_EQ(model.source, "fetal-model train");
  EXPECT_EQ(model.params_json, p.ToJson());
  EXPECT_GT(model.temperature, 0.2);
  EXPECT_LT(model.temperature, 5.0);
  EXPECT_GT(model.ood.threshold, 0.0);
  EXPECT_EQ(model.ood.threshold_quantile, 0.99);
  // The bundle round-trips and its evaluator reproduces the booster's margins.
  std::vector<uint8_t> bytes = WriteBundle(model);
  Model loaded;
  ASSERT_TRUE(ReadBundle(bytes.data(), bytes.size(), &loaded).ok());
  std::unique_ptr<Evaluator> evaluator;
  ASSERT_TRUE(Evaluator::Create(loaded, &evaluator).ok());
  std::vector<size_t> rows = DeduplicateRows(PublishedData().table, AllRows(PublishedData().table));
  std::unique_ptr<Booster> booster;
  ASSERT_TRUE(Booster::Train(PublishedData().table, rows, p, &booster).ok());
  std::vector<float> features = GatherFeatures(PublishedData().table, {0, 1, 2, 500, 2000});
  std::vector<float> expected;
  ASSERT_TRUE(booster->PredictMargins(features.data(), 5, 0, &expected).ok());
  for (size_t i = 0; i < 5; ++i) {
    float margins[kNumClasses];
    evaluator->Margins(&features[i * kNumFeatures], margins);
    for (int c = 0; c < kNumClasses; ++c)
      EXPECT_NEAR(margins[c], expected[i * kNumClasses + c], 1e-4) << "row " << i;
  }
}

TEST(OutOfFoldMargins, ComeFromModelsThatDidNotSeeTheRow) {
  TrainParams p = SmallParams();
  const ExamTable& table = PublishedData().table;
  std::vector<size_t> rows = DeduplicateRows(table, AllRows(table));
  std::vector<float> oof;
  ASSERT_TRUE(OutOfFoldMargins(table, rows, p, &oof).ok());
  ASSERT_EQ(oof.size(), rows.size() * kNumClasses);
  std::unique_ptr<Booster> in_sample;
  ASSERT_TRUE(Booster::Train(table, rows, p, &in_sample).ok());
  std::vector<float> features = GatherFeatures(table, rows), fitted;
  ASSERT_TRUE(in_sample->PredictMargins(features.data(), rows.size(), 0, &fitted).ok());
  std::vector<int> labels = GatherLabels(table, rows);
  // Held-out loss is worse than in-sample loss: the models did not see their rows.
  EXPECT_GT(LogLossAtTemperature(oof.data(), labels.data(), rows.size(), 1.0),
            LogLossAtTemperature(fitted.data(), labels.data(), rows.size(), 1.0) + 0.01);
}

// THE accuracy test: the default parameters on the published 25 splits reach the product's targets
// (docs/training.md).
TEST(CrossValidate, DefaultsReachTheTargetsOnThePublishedFolds) {
  std::string text;
  ASSERT_TRUE(ReadFileBytes(kFolds, &text).ok());
  std::vector<CvSplit> splits;
  ASSERT_TRUE(ParseFolds(text, PublishedData().table.rows, &splits).ok());
  CvResult cv;
  ASSERT_TRUE(CrossValidate(PublishedData(), splits, TrainParams(), &cv).ok());
  ASSERT_EQ(cv.splits.size(), 25u);
  for (const CvSplitResult& s : cv.splits) {
    size_t expected = 0;
    for (const CvSplit& split : splits)
      if (split.repeat == s.repeat && split.fold == s.fold) expected = split.test.size();
    EXPECT_EQ(s.test_rows.size(), expected) << "every published test row is scored";
    EXPECT_EQ(s.probabilities.size(), expected * kNumClasses);
  }
  ModelMetrics mean = SummarizeForBundle(cv);
  EXPECT_EQ(mean.splits, 25);
  EXPECT_GE(mean.accuracy, 0.945);
  EXPECT_GE(mean.macro_f1, 0.895);
  EXPECT_LE(mean.log_loss, 0.17);
  std::printf("cv: accuracy %.4f macro-F1 %.4f log loss %.4f Suspect recall %.4f in %.1f s\n",
              mean.accuracy, mean.macro_f1, mean.log_loss, mean.recall[1], cv.seconds);
}

}  // namespace
}  // namespace trainer
}  // namespace fetal
