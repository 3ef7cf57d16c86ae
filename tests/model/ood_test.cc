#include "fetal/ood.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>

#include "test_exams.h"

namespace fetal {
namespace {

class OodTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    table_ = new ExamTable;
    ASSERT_TRUE(testing::LoadDataset(table_));
    model_ = new Model;
    ASSERT_TRUE(FitOodReference(table_->features.data(), table_->rows, 0.99, model_).ok());
  }
  static void TearDownTestSuite() {
    delete table_;
    delete model_;
  }
  const float* Row(size_t r) const { return &table_->features[r * kNumFeatures]; }
  std::array<float, kNumFeatures> RowCopy(size_t r) const {
    std::array<float, kNumFeatures> e;
    std::copy(Row(r), Row(r) + kNumFeatures, e.begin());
    return e;
  }
  static ExamTable* table_;
  static Model* model_;
};
ExamTable* OodTest::table_ = nullptr;
Model* OodTest::model_ = nullptr;

TEST_F(OodTest, FitFillsReference) {
  EXPECT_EQ(model_->ood.inverse_covariance.size(),
            static_cast<size_t>(kNumFeatures * kNumFeatures));
  EXPECT_EQ(model_->ood.threshold_quantile, 0.99);
  EXPECT_GT(model_->ood.threshold, 0);
  for (int i = 0; i < kNumFeatures; ++i) {
    EXPECT_GT(model_->ood.scale[i], 0) << FeatureSchema()[i].key;
    for (int j = 0; j < kNumFeatures; ++j) {  // symmetric
      EXPECT_NEAR(model_->ood.inverse_covariance[i * kNumFeatures + j],
                  model_->ood.inverse_covariance[j * kNumFeatures + i], 1e-9);
    }
  }
}

TEST_F(OodTest, TrainingRangeIsTheDataMinMax) {
  for (int i = 0; i < kNumFeatures; ++i) {
    float lo = Row(0)[i], hi = Row(0)[i];
    for (size_t r = 0; r < table_->rows; ++r) {
      lo = std::min(lo, Row(r)[i]);
      hi = std::max(hi, Row(r)[i]);
    }
    EXPECT_EQ(model_->training_range.min[i], lo) << FeatureSchema()[i].key;
    EXPECT_EQ(model_->training_range.max[i], hi) << FeatureSchema()[i].key;
  }
}

TEST_F(OodTest, AboutOnePercentOfTrainingExamsAreFlagged) {
  size_t flagged = 0;
  for (size_t r = 0; r < table_->rows; ++r) {
    const OodResult res = CheckOod(*model_, Row(r));
    ASSERT_TRUE(std::isfinite(res.distance));
    EXPECT_EQ(res.threshold, model_->ood.threshold);
    EXPECT_TRUE(res.out_of_range.empty()) << "row " << r;
    flagged += res.out_of_distribution;
  }
  const double share = static_cast<double>(flagged) / static_cast<double>(table_->rows);
  std::printf("OOD threshold %.3f; %zu of %zu training exams above it (%.2f %%)\n",
              model_->ood.threshold, flagged, table_->rows, 100 * share);
  EXPECT_GE(share, 0.005);
  EXPECT_LE(share, 0.015);
}

TEST_F(OodTest, AbsurdButValidExamIsFlagged) {
  // Each value is within the hard limits, but together they look like no trace in the data.
  std::array<float, kNumFeatures> e = RowCopy(1);
  e[FeatureIndex("baseline_value")] = 200;
  e[FeatureIndex("accelerations")] = 0.05f;
  e[FeatureIndex("mean_value_of_short_term_variability")] = 20;
  const OodResult res = CheckOod(*model_, e.data());
  EXPECT_TRUE(res.out_of_distribution);
  EXPECT_GT(res.distance, 3 * res.threshold);
  EXPECT_EQ(res.out_of_range, (std::vector<int>{0, 1, 8}));
}

TEST_F(OodTest, UnusualCombinationWithinRangeIsFlagged) {
  // Every value is inside the training min/max, only their combination is new: histogram mode,
  // median and mean are strongly correlated, here they disagree by 90 bpm.
  std::array<float, kNumFeatures> e = RowCopy(1);
  e[FeatureIndex("histogram_mode")] = 186;
  e[FeatureIndex("histogram_median")] = 95;
  e[FeatureIndex("histogram_mean")] = 140;
  const OodResult res = CheckOod(*model_, e.data());
  EXPECT_TRUE(res.out_of_range.empty());
  EXPECT_TRUE(res.out_of_distribution) << res.distance << " vs " << res.threshold;
}

TEST_F(OodTest, SevereDecelerationNeverSeenInTrainingIsFlagged) {
  std::array<float, kNumFeatures> e = RowCopy(1);
  e[FeatureIndex("severe_decelerations")] = 0.001f;
  const OodResult res = CheckOod(*model_, e.data());
  EXPECT_TRUE(res.out_of_distribution);
  EXPECT_EQ(res.out_of_range, std::vector<int>{FeatureIndex("severe_decelerations")});
}

// A missing value is left out: the distance is the Mahalanobis distance in the marginal
// distribution of the other features, which can never exceed the full distance.
TEST_F(OodTest, MissingFeaturesUseTheMarginalDistance) {
  for (size_t r : {0, 1, 500, 2000}) {
    const double full = CheckOod(*model_, Row(r)).distance;
    for (int i = 0; i < kNumFeatures; i += 4) {
      std::array<float, kNumFeatures> e = RowCopy(r);
      e[i] = std::numeric_limits<float>::quiet_NaN();
      const OodResult res = CheckOod(*model_, e.data());
      ASSERT_TRUE(std::isfinite(res.distance));
      EXPECT_LE(res.distance, full + 1e-9) << "row " << r << " feature " << i;
      EXPECT_TRUE(res.out_of_range.empty());
    }
  }
  std::array<float, kNumFeatures> none;
  none.fill(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(CheckOod(*model_, none.data()).distance, 0);
}

TEST_F(OodTest, WithoutReferenceTheDistanceIsUnknown) {
  Model empty;
  const OodResult res = CheckOod(empty, Row(0));
  EXPECT_TRUE(std::isnan(res.distance));
  EXPECT_FALSE(res.out_of_distribution);
}

TEST_F(OodTest, FitIsDeterministicAndQuantileSetsThreshold) {
  Model again, median;
  ASSERT_TRUE(FitOodReference(table_->features.data(), table_->rows, 0.99, &again).ok());
  EXPECT_EQ(again.ood.inverse_covariance, model_->ood.inverse_covariance);
  EXPECT_EQ(again.ood.threshold, model_->ood.threshold);
  ASSERT_TRUE(FitOodReference(table_->features.data(), table_->rows, 0.5, &median).ok());
  size_t above = 0;
  for (size_t r = 0; r < table_->rows; ++r) above += CheckOod(median, Row(r)).out_of_distribution;
  EXPECT_NEAR(static_cast<double>(above) / static_cast<double>(table_->rows), 0.5, 0.01);
}

TEST_F(OodTest, FitRejectsBadInput) {
  Model m;
  EXPECT_FALSE(FitOodReference(table_->features.data(), kNumFeatures, 0.99, &m).ok());
  EXPECT_FALSE(FitOodReference(table_->features.data(), table_->rows, 0, &m).ok());
  EXPECT_FALSE(FitOodReference(table_->features.data(), table_->rows, 1, &m).ok());
  EXPECT_FALSE(FitOodReference(table_->features.data(), table_->rows, 0.99, nullptr).ok());
  std::vector<float> with_nan(table_->features.begin(),
                              table_->features.begin() + 100 * kNumFeatures);
  with_nan[42 * kNumFeatures + 3] = std::numeric_limits<float>::quiet_NaN();
  const Status s = FitOodReference(with_nan.data(), 100, 0.99, &m);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "uterine_contractions");
  EXPECT_NE(s.message().find("training exam 42"), std::string::npos) << s.message();
}

// Out of sample: fit on the training folds of the published split (repeat 0), check the test
// folds. Held-out exams from the same population should rarely be flagged; the figure printed
// here is quoted in docs/features.md.
TEST_F(OodTest, HeldOutExamsAreRarelyFlagged) {
  const std::string folds_text = testing::ReadFile(std::string(FETAL_DATA_DIR) + "/cv_folds.csv");
  std::vector<int> fold;
  std::istringstream lines(folds_text);
  std::string line;
  std::getline(lines, line);  // header: row,repeat0,...
  while (std::getline(lines, line)) {
    const size_t comma = line.find(',');
    ASSERT_NE(comma, std::string::npos);
    fold.push_back(line[comma + 1] - '0');  // repeat0 is a single digit 0..4
  }
  ASSERT_EQ(fold.size(), table_->rows);
  size_t flagged = 0, flagged_by_class[3] = {}, count_by_class[3] = {};
  for (int f = 0; f < 5; ++f) {
    std::vector<float> train;
    for (size_t r = 0; r < table_->rows; ++r) {
      if (fold[r] != f) train.insert(train.end(), Row(r), Row(r) + kNumFeatures);
    }
    Model m;
    ASSERT_TRUE(FitOodReference(train.data(), train.size() / kNumFeatures, 0.99, &m).ok());
    for (size_t r = 0; r < table_->rows; ++r) {
      if (fold[r] != f) continue;
      const bool out = CheckOod(m, Row(r)).out_of_distribution;
      flagged += out;
      flagged_by_class[table_->labels[r]] += out;
      ++count_by_class[table_->labels[r]];
    }
  }
  auto pct = [](size_t a, size_t b) {
    return 100.0 * static_cast<double>(a) / static_cast<double>(b);
  };
  std::printf(
      "held-out exams flagged: %zu of %zu (%.2f %%); Normal %.2f %%, Suspect %.2f %%, "
      "Pathological %.2f %%\n",
      flagged, table_->rows, pct(flagged, table_->rows),
      pct(flagged_by_class[0], count_by_class[0]), pct(flagged_by_class[1], count_by_class[1]),
      pct(flagged_by_class[2], count_by_class[2]));
  EXPECT_LT(pct(flagged, table_->rows), 3.0);
  // Unusual traces are more often pathological than normal ones.
  EXPECT_GT(pct(flagged_by_class[2], count_by_class[2]),
            pct(flagged_by_class[0], count_by_class[0]));
}

}  // namespace
}  // namespace fetal
