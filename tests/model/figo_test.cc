#include "fetal/figo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core_a_test_data.h"

namespace fetal {
namespace {

using Exam = std::array<float, kNumFeatures>;
const int kBaseline = FeatureIndex("baseline_value");
const int kContractions = FeatureIndex("uterine_contractions");
const int kLight = FeatureIndex("light_decelerations");
const int kSevere = FeatureIndex("severe_decelerations");
const int kProlonged = FeatureIndex("prolongued_decelerations");
const int kAltv = FeatureIndex("percentage_of_time_with_abnormal_long_term_variability");
const int kMeanLtv = FeatureIndex("mean_value_of_long_term_variability");

// A reassuring exam: baseline 132, mean LTV 10.4 bpm, no decelerations, few contractions.
Exam Reassuring() {
  Exam e = testing::ValidExam();
  e[kLight] = 0;
  return e;
}

Exam With(int feature, float value, Exam exam = Reassuring()) {
  exam[feature] = value;
  return exam;
}

// Expects exactly one flag, `id`, at `level`, and the result's class to be `level`.
FigoFlag ExpectOnlyFlag(const Exam& exam, const char* id, FigoClass level) {
  const FigoResult r = EvaluateFigo(exam.data());
  EXPECT_EQ(r.flags.size(), 1u);
  if (r.flags.empty()) return FigoFlag{};
  EXPECT_EQ(r.flags[0].id, id);
  EXPECT_EQ(r.flags[0].level, level);
  EXPECT_FALSE(r.flags[0].message.empty());
  EXPECT_EQ(r.figo_class, level);
  return r.flags[0];
}

TEST(FigoTest, VersionIsSet) { EXPECT_STREQ(kFigoRuleSetVersion, "figo2015-sisporto-v1"); }

TEST(FigoTest, ReassuringExamIsNormalWithoutFlags) {
  const Exam e = Reassuring();
  const FigoResult r = EvaluateFigo(e.data());
  EXPECT_EQ(r.figo_class, FigoClass::kNormal);
  EXPECT_TRUE(r.flags.empty());
}

TEST(FigoTest, BaselineBoundariesAreNormal) {
  EXPECT_TRUE(EvaluateFigo(With(kBaseline, 110).data()).flags.empty());
  EXPECT_TRUE(EvaluateFigo(With(kBaseline, 160).data()).flags.empty());
}

TEST(FigoTest, Bradycardia) {
  const FigoFlag f = ExpectOnlyFlag(With(kBaseline, 105), "baseline_bradycardia", FigoClass::kSuspicious);
  EXPECT_EQ(f.feature, kBaseline);
  EXPECT_EQ(f.value, 105);
  EXPECT_EQ(f.limit, 110);
  EXPECT_EQ(f.message, "Baseline 105 bpm is below 110 bpm (bradycardia).");
  ExpectOnlyFlag(With(kBaseline, 100), "baseline_bradycardia", FigoClass::kSuspicious);
}

TEST(FigoTest, SevereBradycardia) {
  const FigoFlag f =
      ExpectOnlyFlag(With(kBaseline, 95), "baseline_bradycardia_severe", FigoClass::kPathological);
  EXPECT_EQ(f.limit, 100);
}

TEST(FigoTest, Tachycardia) {
  const FigoFlag f = ExpectOnlyFlag(With(kBaseline, 165), "baseline_tachycardia", FigoClass::kSuspicious);
  EXPECT_EQ(f.message, "Baseline 165 bpm is above 160 bpm (tachycardia).");
}

TEST(FigoTest, ReducedVariability) {
  const FigoFlag f = ExpectOnlyFlag(With(kMeanLtv, 3), "variability_reduced", FigoClass::kSuspicious);
  EXPECT_EQ(f.feature, kMeanLtv);
  EXPECT_EQ(f.limit, 5);
  EXPECT_TRUE(EvaluateFigo(With(kMeanLtv, 5).data()).flags.empty());
}

TEST(FigoTest, IncreasedVariability) {
  ExpectOnlyFlag(With(kMeanLtv, 30), "variability_increased", FigoClass::kSuspicious);
  EXPECT_TRUE(EvaluateFigo(With(kMeanLtv, 25).data()).flags.empty());
}

TEST(FigoTest, SustainedReducedVariability) {
  const FigoFlag f =
      ExpectOnlyFlag(With(kAltv, 60), "variability_reduced_sustained", FigoClass::kPathological);
  EXPECT_EQ(f.feature, kAltv);
  EXPECT_EQ(f.limit, 50);
  EXPECT_TRUE(EvaluateFigo(With(kAltv, 50).data()).flags.empty());
}

TEST(FigoTest, RepetitiveDecelerations) {
  // 0.006 contractions/s = 3.6 per 10 min; decelerations with more than half of them fire.
  const FigoFlag f =
      ExpectOnlyFlag(With(kLight, 0.004f), "decelerations_repetitive", FigoClass::kSuspicious);
  EXPECT_EQ(f.feature, kLight);
  EXPECT_NEAR(f.value, 2.4, 1e-4);
  EXPECT_NEAR(f.limit, 1.8, 1e-4);
  EXPECT_TRUE(EvaluateFigo(With(kLight, 0.003f).data()).flags.empty());  // exactly half
  // Without contractions, decelerations cannot be "with contractions".
  Exam no_contractions = With(kLight, 0.004f);
  no_contractions[kContractions] = 0;
  EXPECT_TRUE(EvaluateFigo(no_contractions.data()).flags.empty());
}

TEST(FigoTest, SevereDecelerations) {
  const FigoFlag f = ExpectOnlyFlag(With(kSevere, 0.001f), "decelerations_severe", FigoClass::kPathological);
  EXPECT_NEAR(f.value, 0.6, 1e-4);
}

TEST(FigoTest, ProlongedDeceleration) {
  ExpectOnlyFlag(With(kProlonged, 0.001f), "decelerations_prolonged", FigoClass::kSuspicious);
}

TEST(FigoTest, RepetitiveProlongedDecelerationsReplaceTheSingleFlag) {
  const FigoFlag f = ExpectOnlyFlag(With(kProlonged, 0.002f), "decelerations_prolonged_repetitive",
                                    FigoClass::kPathological);
  EXPECT_NEAR(f.value, 1.2, 1e-4);
  EXPECT_EQ(f.limit, 1);
}

TEST(FigoTest, TachysystoleIsReportedButKeepsTheClass) {
  Exam e = With(kContractions, 0.01f);  // 6 per 10 minutes
  const FigoFlag f = ExpectOnlyFlag(e, "uterine_tachysystole", FigoClass::kNormal);
  EXPECT_NEAR(f.value, 6, 1e-4);
  EXPECT_EQ(f.limit, 5);
}

TEST(FigoTest, ClassIsTheWorstFlagAndFlagsKeepRuleOrder) {
  Exam e = With(kBaseline, 170);
  e[kMeanLtv] = 2;
  e[kProlonged] = 0.003f;
  const FigoResult r = EvaluateFigo(e.data());
  ASSERT_EQ(r.flags.size(), 3u);
  EXPECT_EQ(r.flags[0].id, "baseline_tachycardia");
  EXPECT_EQ(r.flags[1].id, "variability_reduced");
  EXPECT_EQ(r.flags[2].id, "decelerations_prolonged_repetitive");
  EXPECT_EQ(r.figo_class, FigoClass::kPathological);
}

// Agreement of the rule layer with the obstetricians' labels over the whole data set: the
// figures quoted in docs/figo-rules.md come from this test's output.
TEST(FigoTest, DatasetAgreement) {
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  int confusion[3][3] = {};
  for (size_t r = 0; r < table.rows; ++r) {
    const FigoResult result = EvaluateFigo(&table.features[r * kNumFeatures]);
    FigoClass worst = FigoClass::kNormal;
    for (const FigoFlag& f : result.flags) worst = std::max(worst, f.level);
    ASSERT_EQ(result.figo_class, worst);
    const FigoResult again = EvaluateFigo(&table.features[r * kNumFeatures]);
    ASSERT_EQ(again.flags.size(), result.flags.size());  // deterministic
    ++confusion[table.labels[r]][FigoClassIndex(result.figo_class)];
  }
  int agree = 0;
  std::printf("FIGO %s vs labels (rows: label Normal/Suspect/Pathological; columns: FIGO class)\n",
              kFigoRuleSetVersion);
  for (int l = 0; l < 3; ++l) {
    std::printf("  %-12s %5d %5d %5d\n", std::string(kClassNames[l]).c_str(), confusion[l][0],
                confusion[l][1], confusion[l][2]);
    agree += confusion[l][l];
  }
  const double n = static_cast<double>(table.rows);
  double chance = 0;  // agreement expected from the two marginals alone
  for (int c = 0; c < 3; ++c) {
    chance += (confusion[c][0] + confusion[c][1] + confusion[c][2]) / n *
              (confusion[0][c] + confusion[1][c] + confusion[2][c]) / n;
  }
  std::printf("  agreement %d / %zu = %.3f; Cohen's kappa %.3f\n", agree, table.rows, agree / n,
              (agree / n - chance) / (1 - chance));
  // Every FIGO class occurs, and pathological flags are rarer among Normal exams than among
  // Pathological ones: the rules carry signal even where they disagree.
  for (int c = 0; c < 3; ++c) EXPECT_GT(confusion[0][c] + confusion[1][c] + confusion[2][c], 0);
  EXPECT_LT(static_cast<double>(confusion[0][2]) / 1655, static_cast<double>(confusion[2][2]) / 176);
}

}  // namespace
}  // namespace fetal
