// Training data: loading, exact-duplicate removal, the published folds, stratified inner folds.
#include "fetal/trainer/dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

namespace fetal {
namespace trainer {
namespace {

const std::string kData = std::string(FETAL_DATA_DIR) + "/fetal_health.csv";
const std::string kFolds = std::string(FETAL_DATA_DIR) + "/cv_folds.csv";

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = std::string(FETAL_TEST_TMP_DIR) + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string Header() {
  std::string h;
  for (const FeatureSpec& f : FeatureSchema()) h += std::string(f.name) + ",";
  return h + "fetal_health\n";
}

// A valid exam row (dataset row 1) with the given label and baseline.
std::string Row(int baseline, int label) {
  return std::to_string(baseline) +
         ",0.006,0,0.006,0.003,0,0,17,2.1,0,10.4,130,68,198,6,1,141,136,140,12,0," +
         std::to_string(label) + "\n";
}

TEST(LoadDataset, ReadsThePublishedFileAndItsHash) {
  Dataset data;
  ASSERT_TRUE(LoadDataset(kData, &data).ok());
  EXPECT_EQ(data.table.rows, 2126u);
  EXPECT_EQ(data.file_name, "fetal_health.csv");
  // The hash recorded in model/data/README.md.
  EXPECT_EQ(data.sha256, "4e7623efaa7828192c42f0e07a539ec05c80357da14fed6bea0636c0caaff8cd");
  std::array<int, kNumClasses> counts{};
  for (int label : data.table.labels) counts[label]++;
  EXPECT_EQ(counts[0], 1655);
  EXPECT_EQ(counts[1], 295);
  EXPECT_EQ(counts[2], 176);
}

TEST(LoadDataset, MissingFileIsAnIoErrorNamingThePath) {
  Dataset data;
  Status s = LoadDataset("/nonexistent/fetal.csv", &data);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("/nonexistent/fetal.csv"), std::string::npos);
}

TEST(LoadDataset, ABadCellNamesLineAndColumn) {
  std::string text = Header() + Row(120, 1) + Row(130, 2);
  text += "125,0.006,0,abc,0.003,0,0,17,2.1,0,10.4,130,68,198,6,1,141,136,140,12,0,1\n";
  Dataset data;
  Status s = LoadDataset(WriteTemp("bad_cell.csv", text), &data);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "line 4, column 4") << s.message();
}

TEST(LoadDataset, RequiresTheLabelColumn) {
  std::string header = Header();
  header.erase(header.rfind(",fetal_health"));
  Dataset data;
  Status s = LoadDataset(WriteTemp("no_label.csv", header + "\n"), &data);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fetal_health"), std::string::npos) << s.message();
}

TEST(DeduplicateRows, ThePublishedFileHasThirteenExactDuplicates) {
  Dataset data;
  ASSERT_TRUE(LoadDataset(kData, &data).ok());
  std::vector<size_t> kept = DeduplicateRows(data.table, AllRows(data.table));
  EXPECT_EQ(kept.size(), 2126u - 13u);
}

TEST(DeduplicateRows, KeepsTheFirstOccurrenceAndExcludesTestRows) {
  std::string text =
      Header() + Row(120, 1) + Row(130, 1) + Row(120, 1) + Row(120, 2) + Row(140, 1) + Row(130, 1);
  Dataset data;
  ASSERT_TRUE(LoadDataset(WriteTemp("dupes.csv", text), &data).ok());
  ASSERT_EQ(data.table.rows, 6u);
  // Row 2 repeats row 0, row 5 repeats row 1; row 3 has the same features but another label.
  EXPECT_EQ(DeduplicateRows(data.table, AllRows(data.table)), (std::vector<size_t>{0, 1, 3, 4}));
  // Order of candidates decides which copy is "first".
  EXPECT_EQ(DeduplicateRows(data.table, {5, 1, 2, 0}), (std::vector<size_t>{5, 2}));
  // Training rows identical to a test row are dropped (leakage), whatever their position.
  EXPECT_EQ(DeduplicateRows(data.table, {0, 2, 3, 4}, {5}), (std::vector<size_t>{0, 3, 4}));
  EXPECT_EQ(DeduplicateRows(data.table, {1, 3, 4, 5}, {0}), (std::vector<size_t>{1, 3, 4}));
}

TEST(ParseFolds, ThePublishedFoldsGiveTwentyFiveCompleteSplits) {
  Dataset data;
  ASSERT_TRUE(LoadDataset(kData, &data).ok());
  std::string text;
  ASSERT_TRUE(ReadFileBytes(kFolds, &text).ok());
  std::vector<CvSplit> splits;
  ASSERT_TRUE(ParseFolds(text, data.table.rows, &splits).ok());
  ASSERT_EQ(splits.size(), 25u);
  for (int r = 0; r < 5; ++r) {
    std::set<size_t> tested;
    for (int f = 0; f < 5; ++f) {
      const CvSplit& s = splits[r * 5 + f];
      EXPECT_EQ(s.repeat, r);
      EXPECT_EQ(s.fold, f);
      EXPECT_EQ(s.train.size() + s.test.size(), 2126u);
      for (size_t row : s.test) EXPECT_TRUE(tested.insert(row).second);
    }
    EXPECT_EQ(tested.size(), 2126u) << "each row is a test row exactly once per repeat";
  }
}

TEST(ParseFolds, RejectsMalformedFilesNamingWhere) {
  std::vector<CvSplit> splits;
  Status s = ParseFolds("id,repeat0\n0,0\n1,1\n", 2, &splits);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "line 1, column 1");
  s = ParseFolds("row,repeat0\n0,0\n", 2, &splits);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("2"), std::string::npos) << s.message();
  s = ParseFolds("row,repeat0\n0,0\n1,x\n", 2, &splits);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "line 3, column 2");
  s = ParseFolds("row,repeat0\n0,0\n0,1\n", 2, &splits);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("twice"), std::string::npos) << s.message();
  s = ParseFolds("row,repeat0\n0,0\n5,1\n", 2, &splits);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "line 3, column 1");
  EXPECT_TRUE(ParseFolds("row,repeat0\r\n0,0\r\n1,1\r\n", 2, &splits).ok());
  EXPECT_EQ(splits.size(), 2u);
}

TEST(StratifiedFolds, BalancesClassesAndIsDeterministic) {
  Dataset data;
  ASSERT_TRUE(LoadDataset(kData, &data).ok());
  std::vector<size_t> rows = AllRows(data.table);
  std::vector<int> folds = StratifiedFolds(data.table, rows, 5, 0);
  EXPECT_EQ(folds, StratifiedFolds(data.table, rows, 5, 0));
  EXPECT_NE(folds, StratifiedFolds(data.table, rows, 5, 1));
  int counts[5][kNumClasses] = {};
  for (size_t i = 0; i < rows.size(); ++i) counts[folds[i]][data.table.labels[i]]++;
  const int totals[kNumClasses] = {1655, 295, 176};
  for (int f = 0; f < 5; ++f)
    for (int c = 0; c < kNumClasses; ++c) {
      EXPECT_GE(counts[f][c], totals[c] / 5) << "fold " << f << " class " << c;
      EXPECT_LE(counts[f][c], totals[c] / 5 + 1) << "fold " << f << " class " << c;
    }
}

}  // namespace
}  // namespace trainer
}  // namespace fetal
