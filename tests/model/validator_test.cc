#include "fetal/validator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "fetal/model.h"
#include "test_exams.h"

namespace fetal {
namespace {

using Exam = std::array<float, kNumFeatures>;
const int kBaseline = FeatureIndex("baseline_value");
const int kAccelerations = FeatureIndex("accelerations");
const int kFetalMovement = FeatureIndex("fetal_movement");
const int kProlonged = FeatureIndex("prolongued_decelerations");
const int kAstv = FeatureIndex("abnormal_short_term_variability");
const int kWidth = FeatureIndex("histogram_width");
const int kMin = FeatureIndex("histogram_min");
const int kMax = FeatureIndex("histogram_max");
const int kPeaks = FeatureIndex("histogram_number_of_peaks");
const int kMode = FeatureIndex("histogram_mode");
const int kMedian = FeatureIndex("histogram_median");
const int kVariance = FeatureIndex("histogram_variance");
const int kTendency = FeatureIndex("histogram_tendency");

std::vector<Finding> Validate(const Exam& exam, const TrainingRange* range = nullptr) {
  return ValidateExam(exam.data(), range);
}

// The exam with one feature changed.
Exam With(int feature, float value, Exam exam = testing::ValidExam()) {
  exam[feature] = value;
  return exam;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Expects exactly one finding, with this rule on this feature, as an error.
Finding ExpectOnly(const std::vector<Finding>& findings, const char* rule, int feature) {
  EXPECT_EQ(findings.size(), 1u);
  if (findings.empty()) return Finding();
  EXPECT_EQ(findings[0].rule, rule) << findings[0].message;
  EXPECT_EQ(findings[0].feature, feature) << findings[0].message;
  EXPECT_EQ(findings[0].severity, Severity::kError);
  EXPECT_FALSE(IsAcceptable(findings));
  EXPECT_FALSE(findings[0].expected.empty());
  return findings[0];
}

TEST(ValidatorTest, ValidExamHasNoFindings) {
  const auto findings = Validate(testing::ValidExam());
  EXPECT_TRUE(findings.empty()) << findings[0].message;
  EXPECT_TRUE(IsAcceptable(findings));
}

TEST(ValidatorTest, NotFinite) {
  const auto nan = Validate(With(kBaseline, std::numeric_limits<float>::quiet_NaN()));
  const Finding f = ExpectOnly(nan, "not_finite", kBaseline);
  EXPECT_TRUE(Contains(f.message, "Baseline value")) << f.message;
  EXPECT_TRUE(Contains(f.message, "50 to 250 bpm")) << f.message;
  const auto inf = Validate(With(kVariance, std::numeric_limits<float>::infinity()));
  EXPECT_TRUE(Contains(ExpectOnly(inf, "not_finite", kVariance).message, "infinite"));
}

TEST(ValidatorTest, BelowMin) {
  const Finding f = ExpectOnly(Validate(With(kBaseline, 40)), "below_min", kBaseline);
  EXPECT_EQ(f.value, 40);
  EXPECT_EQ(f.expected_min, 50);
  EXPECT_EQ(f.expected_max, 250);
  EXPECT_TRUE(Contains(f.message, "Baseline value 40 bpm is below the minimum of 50 bpm"))
      << f.message;
  const Finding rate =
      ExpectOnly(Validate(With(kAccelerations, -0.001f)), "below_min", kAccelerations);
  EXPECT_TRUE(Contains(rate.message, "cannot be negative")) << rate.message;
}

TEST(ValidatorTest, AboveMaxRateHintsAtCounts) {
  const Finding f = ExpectOnly(Validate(With(kAccelerations, 3)), "above_max", kAccelerations);
  EXPECT_EQ(f.value, 3);
  EXPECT_NEAR(f.expected_max, 1.0 / 15, 1e-12);
  EXPECT_TRUE(Contains(f.message, "Accelerations 3 events per second")) << f.message;
  EXPECT_TRUE(Contains(f.message, "Did you enter a count?")) << f.message;
  EXPECT_TRUE(Contains(f.message, "3 in a 10-minute trace = 0.005")) << f.message;
  EXPECT_EQ(f.expected, "0 to 0.0667 events per second");
  EXPECT_TRUE(Contains(f.message, "above the maximum of 0.0667 events per second")) << f.message;
}

TEST(ValidatorTest, AboveMaxFractionalRateHasNoCountHint) {
  const Finding f = ExpectOnly(Validate(With(kAccelerations, 0.5f)), "above_max", kAccelerations);
  EXPECT_FALSE(Contains(f.message, "count")) << f.message;
}

TEST(ValidatorTest, FetalMovementMayExceedOnePer15Seconds) {
  EXPECT_TRUE(Validate(With(kFetalMovement, 0.189f)).empty());
  ExpectOnly(Validate(With(kFetalMovement, 1.5f)), "above_max", kFetalMovement);
}

TEST(ValidatorTest, ProlongedDecelerationsAtMostOnePer120Seconds) {
  EXPECT_TRUE(Validate(With(kProlonged, 0.008f)).empty());
  const Finding f = ExpectOnly(Validate(With(kProlonged, 0.01f)), "above_max", kProlonged);
  EXPECT_TRUE(Contains(f.message, "Prolonged decelerations")) << f.message;
  EXPECT_NEAR(f.expected_max, 1.0 / 120, 1e-12);
}

TEST(ValidatorTest, PercentAbove100HintsAtUnit) {
  const Finding f = ExpectOnly(Validate(With(kAstv, 250)), "above_max", kAstv);
  EXPECT_TRUE(Contains(f.message, "percentage of the trace time")) << f.message;
  EXPECT_TRUE(Validate(With(kAstv, 0.5f)).empty());  // a small percentage is fine
}

TEST(ValidatorTest, NotInteger) {
  const Finding f = ExpectOnly(Validate(With(kPeaks, 2.5f)), "not_integer", kPeaks);
  EXPECT_TRUE(Contains(f.message, "Histogram number of peaks 2.5 is not a whole number"))
      << f.message;
}

TEST(ValidatorTest, OneFindingPerBrokenRule) {
  const auto findings = Validate(With(kPeaks, 150.5f));
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].rule, "above_max");
  EXPECT_EQ(findings[1].rule, "not_integer");
}

TEST(ValidatorTest, TendencySet) {
  for (float v : {-1.f, 0.f, 1.f}) EXPECT_TRUE(Validate(With(kTendency, v)).empty()) << v;
  for (float v : {0.5f, 2.f, -3.f}) {
    const Finding f = ExpectOnly(Validate(With(kTendency, v)), "tendency_set", kTendency);
    EXPECT_TRUE(Contains(f.message, "-1 (left-skewed), 0 (symmetric) or 1 (right-skewed)"))
        << f.message;
  }
}

TEST(ValidatorTest, WidthIsMaxMinusMin) {
  // Valid exam: min 68, max 198, width 130.
  const Finding f = ExpectOnly(Validate(With(kWidth, 120)), "width_is_max_minus_min", kWidth);
  EXPECT_TRUE(Contains(f.message, "Histogram width 120 bpm")) << f.message;
  EXPECT_TRUE(Contains(f.message, "Expected 130 bpm")) << f.message;
  EXPECT_EQ(f.expected_min, 129.5);
  EXPECT_EQ(f.expected_max, 130.5);
  EXPECT_TRUE(Validate(With(kWidth, 130.5f)).empty());  // rounding tolerance
}

TEST(ValidatorTest, MinAtMostMaxReplacesDependentRules) {
  Exam exam = With(kMin, 200);  // above max 198: width, mode and median would all be off too
  const Finding f = ExpectOnly(Validate(exam), "min_at_most_max", kMin);
  EXPECT_TRUE(std::isnan(f.expected_min));
  EXPECT_EQ(f.expected_max, 198);
}

TEST(ValidatorTest, ModeWithinMinMax) {
  const Finding f = ExpectOnly(Validate(With(kMode, 60)), "mode_within_min_max", kMode);
  EXPECT_EQ(f.expected_min, 68);
  EXPECT_EQ(f.expected_max, 198);
  EXPECT_TRUE(Contains(f.message, "Histogram mode 60 bpm")) << f.message;
  EXPECT_TRUE(Validate(With(kMode, 68)).empty());
}

TEST(ValidatorTest, MedianWithinMinMax) {
  ExpectOnly(Validate(With(kMedian, 199)), "median_within_min_max", kMedian);
  EXPECT_TRUE(Validate(With(kMedian, 198)).empty());
}

TEST(ValidatorTest, VarianceWithinWidth) {
  Exam narrow = testing::ValidExam();
  narrow[kMin] = 135;
  narrow[kMax] = 145;
  narrow[kWidth] = 10;
  narrow[kMode] = narrow[kMedian] = 140;
  narrow[kVariance] = 25;  // (10 / 2)^2: the most a 10 bpm wide histogram allows
  EXPECT_TRUE(Validate(narrow).empty());
  narrow[kVariance] = 26;
  const Finding f = ExpectOnly(Validate(narrow), "variance_within_width", kVariance);
  EXPECT_EQ(f.expected_max, 25);
  EXPECT_TRUE(Contains(f.message, "(width / 2)² = 25 bpm²")) << f.message;
}

TEST(ValidatorTest, CrossFieldRulesSkipInvalidInputs) {
  // histogram_max out of hard limits: its own error only, no width/mode/median noise.
  ExpectOnly(Validate(With(kMax, 300)), "above_max", kMax);
  ExpectOnly(Validate(With(kWidth, std::numeric_limits<float>::quiet_NaN())), "not_finite", kWidth);
}

TEST(ValidatorTest, OutsideTrainingRangeIsAWarning) {
  TrainingRange range;
  for (int i = 0; i < kNumFeatures; ++i) {
    range.min[i] = FeatureSchema()[i].hard_min;
    range.max[i] = FeatureSchema()[i].hard_max;
  }
  EXPECT_TRUE(Validate(testing::ValidExam(), &range).empty());
  range.max[kBaseline] = 130;
  range.min[kVariance] = 20;
  const auto findings = Validate(testing::ValidExam(), &range);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_TRUE(IsAcceptable(findings));
  EXPECT_EQ(findings[0].feature, kBaseline);  // feature order
  EXPECT_EQ(findings[0].rule, "outside_training_range");
  EXPECT_EQ(findings[0].severity, Severity::kWarning);
  EXPECT_EQ(findings[0].expected_max, 130);
  EXPECT_TRUE(Contains(findings[0].message, "above every exam the model was trained on"))
      << findings[0].message;
  EXPECT_EQ(findings[1].feature, kVariance);
  EXPECT_TRUE(Contains(findings[1].message, "below")) << findings[1].message;
}

TEST(ValidatorTest, ErrorsComeBeforeWarningsAndSuppressThem) {
  TrainingRange range;
  for (int i = 0; i < kNumFeatures; ++i) {
    range.min[i] = FeatureSchema()[i].hard_min;
    range.max[i] = FeatureSchema()[i].hard_max;
  }
  range.max[kMode] = 150;
  Exam exam = With(kMode, 160);  // only the warning
  exam[kBaseline] = 300;         // only the error
  const auto findings = Validate(exam, &range);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].feature, kBaseline);
  EXPECT_EQ(findings[0].severity, Severity::kError);
  EXPECT_EQ(findings[1].feature, kMode);
  EXPECT_EQ(findings[1].severity, Severity::kWarning);
  // Cross-field errors sort by their feature too: width (11) before mode (16).
  Exam two = With(kWidth, 100);
  two[kMode] = 60;
  const auto cross = Validate(two);
  ASSERT_EQ(cross.size(), 2u);
  EXPECT_EQ(cross[0].feature, kWidth);
  EXPECT_EQ(cross[1].feature, kMode);
}

// The data has 14 exams whose width is not max - min and 2 whose median is outside [min, max]
// (docs/features.md); those, and only those, fail validation.
TEST(ValidatorTest, DatasetFindingsAreOnlyTheKnownInconsistencies) {
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  std::map<std::string, int> rule_count;
  for (size_t r = 0; r < table.rows; ++r) {
    for (const Finding& f : ValidateExam(&table.features[r * kNumFeatures], nullptr)) {
      ++rule_count[f.rule];
    }
  }
  EXPECT_EQ(rule_count.size(), 2u);
  EXPECT_EQ(rule_count["width_is_max_minus_min"], 14);
  EXPECT_EQ(rule_count["median_within_min_max"], 2);
}

// Arbitrary bit patterns (NaN payloads, infinities, denormals, huge values) give findings with a
// message and never crash: the validator is the first thing untrusted input meets.
TEST(ValidatorTest, ArbitraryFloatsAreHandled) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    Exam exam = testing::ValidExam();
    for (int k = 0; k < 3; ++k) {
      const uint32_t bits = static_cast<uint32_t>(rng());
      float v;
      std::memcpy(&v, &bits, sizeof v);
      exam[rng() % kNumFeatures] = v;
    }
    for (const Finding& f : Validate(exam)) {
      ASSERT_GE(f.feature, 0);
      ASSERT_LT(f.feature, kNumFeatures);
      ASSERT_FALSE(f.message.empty()) << f.rule;
      ASSERT_FALSE(f.rule.empty());
    }
  }
}

}  // namespace
}  // namespace fetal
