#include "fetal/csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "test_exams.h"

namespace fetal {
namespace {

// The dataset's header (feature names) plus the label column.
std::string Header() {
  std::string h;
  for (const FeatureSpec& spec : FeatureSchema()) h += std::string(spec.name) + ",";
  return h + "fetal_health";
}
const char* kRow2 = "132,0.006,0,0.006,0.003,0,0,17,2.1,0,10.4,130,68,198,6,1,141,136,140,12,0,1";
const char* kRow3 = "133,0.003,0,0.008,0.003,0,0,16,2.1,0,13.4,130,68,198,5,1,141,135,138,13,0,1";

Status Parse(const std::string& text, ExamTable* table, CsvOptions options = CsvOptions()) {
  return ParseExamCsv(text, options, table);
}

TEST(CsvTest, ReadsTheDataset) {
  ExamTable table;
  ASSERT_TRUE(testing::LoadDataset(&table));
  ASSERT_EQ(table.rows, 2126u);
  ASSERT_EQ(table.features.size(), 2126u * kNumFeatures);
  ASSERT_EQ(table.labels.size(), 2126u);
  EXPECT_TRUE(table.has_labels);
  int count[3] = {0, 0, 0};
  for (int label : table.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LE(label, 2);
    ++count[label];
  }
  EXPECT_EQ(count[0], 1655);
  EXPECT_EQ(count[1], 295);
  EXPECT_EQ(count[2], 176);
  EXPECT_EQ(table.lines.front(), 2u);
  EXPECT_EQ(table.lines.back(), 2127u);
  EXPECT_EQ(table.features[0], 120.f);
  EXPECT_EQ(table.features[kNumFeatures + 1], 0.006f);
}

// The hand-written number parser agrees with the C library (in the "C" locale) on every cell.
TEST(CsvTest, NumbersMatchStrtofOnEveryDatasetCell) {
  const std::string text = testing::ReadFile(testing::DatasetPath());
  ExamTable table;
  ASSERT_TRUE(Parse(text, &table).ok());
  size_t pos = text.find('\n') + 1, row = 0;
  while (pos < text.size() && row < table.rows) {
    const size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    char* cursor = line.data();
    for (int i = 0; i < kNumFeatures; ++i) {
      const float expected = std::strtof(cursor, &cursor);
      ASSERT_EQ(table.features[row * kNumFeatures + i], expected) << "row " << row << " col " << i;
      ++cursor;  // the comma
    }
    ++row;
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  EXPECT_EQ(row, table.rows);
}

TEST(CsvTest, NumberForms) {
  const struct {
    const char* cell;
    float value;
  } cases[] = {{"1e-3", 0.001f},
               {".5", 0.5f},
               {"-1", -1.f},
               {"+2", 2.f},
               {"2.", 2.f},
               {" 7 ", 7.f},
               {"1.5E2", 150.f},
               {"0.1", 0.1f},
               {"\"3\"", 3.f},
               {"00012", 12.f},
               {"0.0000000000000000000000001", 1e-25f}};
  for (const auto& c : cases) {
    ExamTable table;
    std::string header;
    for (int i = 1; i < kNumFeatures; ++i) header += "," + std::string(FeatureSchema()[i].key);
    const std::string text =
        "baseline_value" + header + "\n" + c.cell + std::string(kNumFeatures - 1, ',') + "\n";
    ASSERT_TRUE(Parse(text, &table).ok());
    ASSERT_EQ(table.rows, 1u) << c.cell << ": "
                              << (table.errors.empty() ? "" : table.errors[0].message);
    EXPECT_EQ(table.features[0], c.value) << c.cell;
    EXPECT_TRUE(std::isnan(table.features[1]));  // empty cell
  }
}

TEST(CsvTest, NonNumericCellNamesLineColumnAndHeader) {
  for (const char* bad : {"abc", "1.2.3", "nan", "inf", "1e", "--1", "0x10", "12 bpm", "e5"}) {
    ExamTable table;
    std::string row2 = kRow2;
    row2.replace(0, 3, bad);  // baseline cell
    ASSERT_TRUE(Parse(Header() + "\n" + kRow3 + "\n" + row2 + "\n", &table).ok());
    EXPECT_EQ(table.rows, 1u) << bad;
    ASSERT_EQ(table.errors.size(), 1u) << bad;
    EXPECT_EQ(table.errors[0].line, 3u);
    EXPECT_EQ(table.errors[0].column, 1);
    EXPECT_EQ(table.errors[0].field, "baseline value");
    EXPECT_EQ(table.errors[0].rule, "not_a_number");
    EXPECT_EQ(table.errors[0].value, bad);
    EXPECT_EQ(table.errors[0].message, std::string("expected a number, got \"") + bad + "\"");
  }
}

// A long cell is cut to 40 bytes for display, never inside a UTF-8 character.
TEST(CsvTest, LongCellIsCutAtACharacterBoundary) {
  ExamTable table;
  std::string row = kRow2;
  const std::string cell =
      std::string(39, 'x') + "\xC3\xA9" + std::string(10, 'y');  // é straddles byte 40
  row.replace(0, 3, cell);
  ASSERT_TRUE(Parse(Header() + "\n" + row + "\n", &table).ok());
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].value, std::string(39, 'x') + "...");
  EXPECT_EQ(table.errors[0].message, "expected a number, got \"" + std::string(39, 'x') + "...\"");
}

TEST(CsvTest, DecimalCommaGetsAHint) {
  ExamTable table;
  std::string row = kRow2;
  row.replace(row.find("0.006"), 5, "\"0,006\"");
  ASSERT_TRUE(Parse(Header() + "\n" + row + "\n", &table).ok());
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].column, 2);
  EXPECT_EQ(table.errors[0].rule, "decimal_comma");
  EXPECT_EQ(table.errors[0].value, "0,006");
  EXPECT_NE(table.errors[0].message.find("use a dot as the decimal separator"), std::string::npos);
}

TEST(CsvTest, CrlfBomAndBlankLines) {
  ExamTable table;
  const std::string text = "\xEF\xBB\xBF" + Header() + "\r\n\r\n" + kRow2 + "\r\n" + kRow3 +
                           "\r\n,,,,,,,,,,,,,,,,,,,,,\r\n\r\n\n";
  ASSERT_TRUE(Parse(text, &table).ok());
  EXPECT_EQ(table.rows, 2u);
  EXPECT_TRUE(table.errors.empty());
  EXPECT_EQ(table.lines[0], 3u);
  EXPECT_EQ(table.lines[1], 4u);
  EXPECT_EQ(table.labels[1], 0);
  EXPECT_EQ(table.features[kNumFeatures + kNumFeatures - 1], 0.f);  // tendency without a \r
}

TEST(CsvTest, QuotedCellsAndIgnoredColumns) {
  ExamTable table;
  // An extra quoted column holding a comma, a doubled quote and a line break.
  const std::string text =
      "note," + Header() + "\n\"a, \"\"b\"\"\nc\"," + kRow2 + "\n" + "x," + kRow3 + "\n";
  ASSERT_TRUE(Parse(text, &table).ok());
  ASSERT_EQ(table.rows, 2u);
  EXPECT_TRUE(table.errors.empty());
  EXPECT_EQ(table.lines[0], 2u);
  EXPECT_EQ(table.lines[1], 4u);  // the quoted line break moved it down one line
  EXPECT_EQ(table.features[0], 132.f);
}

TEST(CsvTest, ColumnsInAnyOrderByNameOrKey) {
  // Reverse the columns and use keys for half of them.
  std::vector<std::string> names, values;
  for (int i = 0; i < kNumFeatures; ++i) {
    const FeatureSpec& spec = FeatureSchema()[i];
    names.push_back(std::string(i % 2 ? spec.key : spec.name));
    values.push_back(std::to_string(i));
  }
  std::string header, row;
  for (int i = kNumFeatures - 1; i >= 0; --i) {
    header += names[i] + (i ? "," : "");
    row += values[i] + (i ? "," : "");
  }
  ExamTable table;
  header.replace(header.rfind("baseline value"), 14,
                 " Baseline Value ");  // case and spaces do not matter
  ASSERT_TRUE(Parse(header + "\n" + row + "\n", &table).ok()) << header;
  ASSERT_EQ(table.rows, 1u);
  for (int i = 0; i < kNumFeatures; ++i) {
    EXPECT_EQ(table.features[i], i);
    EXPECT_EQ(table.columns[i], kNumFeatures - i) << "the 1-based header column of feature " << i;
  }
  EXPECT_FALSE(table.has_labels);
  EXPECT_EQ(table.labels[0], -1);
}

TEST(CsvTest, MissingFeatureColumnIsAnError) {
  std::string header = Header();
  header.erase(header.find("histogram_mode,"), std::string("histogram_mode,").size());
  ExamTable table;
  const Status s = Parse(header + "\n", &table);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.field(), "histogram_mode");
  EXPECT_NE(s.message().find("\"histogram_mode\""), std::string::npos) << s.message();
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].rule, "missing_column");
  EXPECT_EQ(table.errors[0].field, "histogram_mode");
  EXPECT_EQ(table.errors[0].line, 1u);
  EXPECT_EQ(table.rows, 0u);
}

TEST(CsvTest, EveryMissingColumnIsOneErrorInSchemaOrder) {
  ExamTable table;
  const Status s = Parse("\n\naccelerations,baseline value,junk\n", &table);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "fetal_movement");
  ASSERT_EQ(table.errors.size(), static_cast<size_t>(kNumFeatures - 2));
  EXPECT_EQ(table.errors[0].field, "fetal_movement");
  EXPECT_EQ(table.errors.back().field, "histogram_tendency");
  for (const CsvRowError& e : table.errors) {
    EXPECT_EQ(e.rule, "missing_column");
    EXPECT_EQ(e.line, 3u);  // the header is the first line that is not blank
    EXPECT_NE(s.message().find("\"" + e.field + "\""), std::string::npos) << e.field;
  }
}

TEST(CsvTest, DuplicateColumnIsAnError) {
  ExamTable table;
  const Status s = Parse(Header() + ",accelerations\n", &table);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "accelerations");
  EXPECT_NE(s.message().find("appears twice"), std::string::npos) << s.message();
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].rule, "duplicate_column");
  EXPECT_EQ(table.errors[0].field, "accelerations");
  EXPECT_EQ(table.errors[0].column, kNumFeatures + 2);
  EXPECT_EQ(table.errors[0].first_column, 2);

  const Status label = Parse(Header() + ", Fetal_Health\n", &table);
  ASSERT_FALSE(label.ok());
  EXPECT_EQ(label.field(), "fetal_health");
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].rule, "duplicate_column");
  EXPECT_EQ(table.errors[0].field, " Fetal_Health");
  EXPECT_EQ(table.errors[0].first_column, kNumFeatures + 1);
}

TEST(CsvTest, EmptyFileIsAnError) {
  ExamTable table;
  EXPECT_FALSE(Parse("", &table).ok());
  EXPECT_FALSE(Parse("\n\r\n\n", &table).ok());
  EXPECT_FALSE(Parse("\xEF\xBB\xBF", &table).ok());
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].rule, "empty_file");
  EXPECT_EQ(table.errors[0].line, 1u);
}

TEST(CsvTest, RaggedRowNamesItsLine) {
  std::string short_row = kRow2;
  short_row.erase(short_row.rfind(','));
  ExamTable table;
  ASSERT_TRUE(
      Parse(Header() + "\n" + short_row + "\n" + kRow3 + "\n" + kRow2 + ",1,2\n", &table).ok());
  EXPECT_EQ(table.rows, 1u);
  ASSERT_EQ(table.errors.size(), 2u);
  EXPECT_EQ(table.errors[0].line, 2u);
  EXPECT_EQ(table.errors[0].column, 0);
  EXPECT_NE(table.errors[0].message.find("21 cells but the header has 22 columns"),
            std::string::npos)
      << table.errors[0].message;
  EXPECT_EQ(table.errors[0].rule, "wrong_cell_count");
  EXPECT_EQ(table.errors[0].cells, 21u);
  EXPECT_EQ(table.errors[0].header_cells, 22u);
  EXPECT_EQ(table.errors[1].cells, 24u);
  EXPECT_EQ(table.errors[1].line, 4u);
  // A trailing comma (an empty extra cell) is tolerated.
  ASSERT_TRUE(Parse(Header() + "\n" + kRow2 + ",\n", &table).ok());
  EXPECT_EQ(table.rows, 1u);
  EXPECT_TRUE(table.errors.empty());
}

TEST(CsvTest, Labels) {
  ExamTable table;
  std::string row = kRow2;
  ASSERT_TRUE(Parse(Header() + "\n" + row.substr(0, row.size() - 1) + "3.0\n" +
                        row.substr(0, row.size() - 1) + "2\n" + row.substr(0, row.size() - 1) +
                        "4\n" + row.substr(0, row.size() - 1) + "\n",
                    &table)
                  .ok());
  ASSERT_EQ(table.rows, 3u);
  EXPECT_EQ(table.labels[0], 2);
  EXPECT_EQ(table.labels[1], 1);
  EXPECT_EQ(table.labels[2], -1);  // empty label, labels not required
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].line, 4u);
  EXPECT_EQ(table.errors[0].column, 22);
  EXPECT_EQ(table.errors[0].field, "fetal_health");
  EXPECT_NE(table.errors[0].message.find("got \"4\""), std::string::npos);
  EXPECT_EQ(table.errors[0].rule, "bad_label");
  EXPECT_EQ(table.errors[0].value, "4");

  CsvOptions required;
  required.require_labels = true;
  ASSERT_TRUE(Parse(Header() + "\n" + row.substr(0, row.size() - 1) + "\n", &table, required).ok());
  EXPECT_EQ(table.rows, 0u);
  EXPECT_EQ(table.errors.size(), 1u);
  std::string no_label = Header();
  no_label.erase(no_label.rfind(','));
  const Status s = Parse(no_label + "\n", &table, required);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "fetal_health");
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].rule, "missing_label_column");
}

TEST(CsvTest, MaxRowsIsAnErrorNotASilentCut) {
  CsvOptions options;
  options.max_rows = 2;
  ExamTable table;
  ASSERT_TRUE(Parse(Header() + "\n" + kRow2 + "\n" + kRow3 + "\n" + kRow2 + "\n" + kRow3 + "\n",
                    &table, options)
                  .ok());
  EXPECT_EQ(table.rows, 2u);
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].line, 4u);
  EXPECT_NE(table.errors[0].message.find("more than 2 exam rows"), std::string::npos);
  EXPECT_EQ(table.errors[0].rule, "too_many_rows");
  EXPECT_EQ(table.errors[0].max_rows, 2u);
}

TEST(CsvTest, UnterminatedQuote) {
  ExamTable table;
  ASSERT_TRUE(Parse(Header() + "\n" + kRow2 + "\n\"133,0.003\n", &table).ok());
  EXPECT_EQ(table.rows, 1u);
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].line, 3u);
  EXPECT_NE(table.errors[0].message.find("never closed"), std::string::npos);
  EXPECT_EQ(table.errors[0].rule, "unclosed_quote");
  EXPECT_FALSE(Parse("\"baseline value,\n", &table).ok());
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_EQ(table.errors[0].rule, "header_unclosed_quote");
}

TEST(CsvTest, ReusedTableIsReset) {
  ExamTable table;
  ASSERT_TRUE(Parse(Header() + "\n" + kRow2 + "\nbad\n", &table).ok());
  ASSERT_TRUE(Parse(Header() + "\n" + kRow3 + "\n", &table).ok());
  EXPECT_EQ(table.rows, 1u);
  EXPECT_EQ(table.features.size(), static_cast<size_t>(kNumFeatures));
  EXPECT_TRUE(table.errors.empty());
}

// Damaged input never crashes the reader and never yields an inconsistent table: every row is
// either read whole or reported. (fuzz/fuzz_csv.cc fuzzes this properly; this is the quick
// always-on form.)
TEST(CsvTest, MutatedDatasetKeepsTableConsistent) {
  const std::string original = testing::ReadFile(testing::DatasetPath()).substr(0, 20000);
  std::mt19937 rng(12345);
  const char alphabet[] = {',', '"', '\n', '\r', '.', 'e', '-', '1', ' ', '\0', '\xEF', 'x'};
  for (int round = 0; round < 200; ++round) {
    std::string text = original;
    const int edits = 1 + static_cast<int>(rng() % 20);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % text.size();
      const char c = alphabet[rng() % sizeof alphabet];
      switch (rng() % 3) {
        case 0: text[at] = c; break;
        case 1: text.insert(text.begin() + static_cast<long>(at), c); break;
        default: text.erase(at, 1 + rng() % 5);
      }
    }
    ExamTable table;
    const Status s = Parse(text, &table);
    if (!s.ok()) {
      EXPECT_FALSE(s.message().empty());
      EXPECT_EQ(table.rows, 0u);
      EXPECT_FALSE(table.errors.empty());
      continue;
    }
    ASSERT_EQ(table.features.size(), table.rows * kNumFeatures);
    ASSERT_EQ(table.labels.size(), table.rows);
    ASSERT_EQ(table.lines.size(), table.rows);
    for (size_t r = 1; r < table.rows; ++r) ASSERT_LT(table.lines[r - 1], table.lines[r]);
    for (const CsvRowError& e : table.errors) {
      EXPECT_GE(e.line, 2u);
      EXPECT_FALSE(e.message.empty());
      EXPECT_FALSE(e.rule.empty());
    }
  }
}

}  // namespace
}  // namespace fetal
