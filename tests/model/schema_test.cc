#include "fetal/schema.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "fetal/validator.h"
#include "test_exams.h"

namespace fetal {
namespace {

TEST(SchemaTest, FeaturesAreInDatasetOrder) {
  const std::string text = testing::ReadFile(testing::DatasetPath());
  ASSERT_FALSE(text.empty()) << testing::DatasetPath();
  std::string header = text.substr(0, text.find('\n'));
  if (!header.empty() && header.back() == '\r') header.pop_back();
  std::string expected;
  for (const FeatureSpec& spec : FeatureSchema()) expected += std::string(spec.name) + ",";
  EXPECT_EQ(header, expected + "fetal_health");
}

TEST(SchemaTest, KeysAreSnakeCaseOfNamesAndUnique) {
  std::set<std::string_view> keys;
  for (const FeatureSpec& spec : FeatureSchema()) {
    std::string snake(spec.name);
    for (char& c : snake) {
      if (c == ' ') c = '_';
    }
    EXPECT_EQ(spec.key, snake);
    EXPECT_TRUE(keys.insert(spec.key).second) << spec.key;
    EXPECT_FALSE(spec.description.empty()) << spec.key;
    EXPECT_FALSE(spec.group.empty()) << spec.key;
    EXPECT_FALSE(spec.label.empty()) << spec.key;
  }
  EXPECT_EQ(FeatureSchema()[6].key, "prolongued_decelerations");  // the dataset's spelling
}

TEST(SchemaTest, FeatureIndexFindsNamesAndKeys) {
  EXPECT_EQ(FeatureIndex("baseline value"), 0);
  EXPECT_EQ(FeatureIndex("baseline_value"), 0);
  EXPECT_EQ(FeatureIndex("histogram_tendency"), kNumFeatures - 1);
  for (int i = 0; i < kNumFeatures; ++i) {
    EXPECT_EQ(FeatureIndex(FeatureSchema()[i].name), i);
    EXPECT_EQ(FeatureIndex(FeatureSchema()[i].key), i);
  }
  EXPECT_EQ(FeatureIndex("fetal_health"), -1);
  EXPECT_EQ(FeatureIndex("prolonged_decelerations"), -1);
  EXPECT_EQ(FeatureIndex(""), -1);
}

TEST(SchemaTest, LimitsFollowTheUnits) {
  for (const FeatureSpec& spec : FeatureSchema()) {
    EXPECT_LT(spec.hard_min, spec.hard_max) << spec.key;
    switch (spec.kind) {
      case FeatureKind::kEventRate:
        EXPECT_EQ(spec.hard_min, 0) << spec.key;
        EXPECT_EQ(spec.unit, "1/s");
        EXPECT_TRUE(spec.log1p_for_ood) << spec.key;
        break;
      case FeatureKind::kPercentTime:
        EXPECT_EQ(spec.hard_min, 0);
        EXPECT_EQ(spec.hard_max, 100);
        break;
      case FeatureKind::kCount:
        EXPECT_TRUE(spec.integer) << spec.key;
        EXPECT_TRUE(spec.log1p_for_ood) << spec.key;
        break;
      case FeatureKind::kTendency:
        EXPECT_EQ(spec.hard_min, -1);
        EXPECT_EQ(spec.hard_max, 1);
        EXPECT_TRUE(spec.integer);
        break;
      default: EXPECT_FALSE(spec.integer) << spec.key;
    }
  }
  const auto& s = FeatureSchema();
  EXPECT_DOUBLE_EQ(s[FeatureIndex("accelerations")].hard_max, 1.0 / 15);
  EXPECT_DOUBLE_EQ(s[FeatureIndex("uterine_contractions")].hard_max, 1.0 / 15);
  EXPECT_DOUBLE_EQ(s[FeatureIndex("light_decelerations")].hard_max, 1.0 / 15);
  EXPECT_DOUBLE_EQ(s[FeatureIndex("severe_decelerations")].hard_max, 1.0 / 15);
  EXPECT_DOUBLE_EQ(s[FeatureIndex("prolongued_decelerations")].hard_max, 1.0 / 120);
  EXPECT_DOUBLE_EQ(s[FeatureIndex("fetal_movement")].hard_max, 1.0);
}

// The hard limits reject impossible values, never a real exam: every dataset row passes them.
TEST(SchemaTest, EveryDatasetRowIsWithinHardLimits) {
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  ASSERT_EQ(table.rows, 2126u);
  int violations = 0;
  for (size_t r = 0; r < table.rows; ++r) {
    for (int i = 0; i < kNumFeatures; ++i) {
      const FeatureSpec& spec = FeatureSchema()[i];
      const float v = table.features[r * kNumFeatures + i];
      const bool ok = std::isfinite(v) && v >= spec.hard_min && v <= spec.hard_max &&
                      (!spec.integer || v == std::round(v));
      if (!ok && ++violations <= 10) {
        ADD_FAILURE() << "line " << table.lines[r] << ": " << spec.key << " = " << v;
      }
    }
  }
  EXPECT_EQ(violations, 0);
}

// Hard limits are wider than the data: fetal movement above one per 15 s is real (23 rows).
TEST(SchemaTest, FetalMovementLimitAdmitsFrequentMovements) {
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  const int fm = FeatureIndex("fetal_movement");
  int above = 0;
  for (size_t r = 0; r < table.rows; ++r) above += table.features[r * kNumFeatures + fm] > 1.0 / 15;
  EXPECT_GT(above, 0);
  EXPECT_GT(FeatureSchema()[fm].hard_max, 1.0 / 15);
}

}  // namespace
}  // namespace fetal
