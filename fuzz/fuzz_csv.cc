// Fuzzes the exam CSV reader (fetal::ParseExamCsv) with arbitrary text.
//
// Promises checked (csv.h): no crash or sanitizer report on any text; a header failure is a
// Status with a message, no rows and the header errors with their rule ids; otherwise the table's
// arrays agree with `rows`, every accepted row has its source line, row errors carry a line, and
// max_rows is honoured.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "fetal/csv.h"
#include "fetal/schema.h"
#include "fuzz_check.h"

namespace {

void ParseAndCheck(std::string_view text, bool require_labels) {
  fetal::CsvOptions options;
  options.require_labels = require_labels;
  options.max_rows = 64;  // small, so the row limit itself gets exercised
  fetal::ExamTable table;
  fetal::Status s = fetal::ParseExamCsv(text, options, &table);
  if (!s.ok()) {
    FUZZ_CHECK(!s.message().empty(), "a rejected header gets a message saying why");
    FUZZ_CHECK(table.rows == 0 && table.features.empty(), "a rejected header yields no rows");
    FUZZ_CHECK(!table.errors.empty(), "a rejected header is listed in errors");
    for (const fetal::CsvRowError& error : table.errors) {
      FUZZ_CHECK(!error.rule.empty() && !error.message.empty(),
                 "header errors carry a rule and a message");
    }
    return;
  }
  FUZZ_CHECK(table.rows <= options.max_rows, "rows beyond max_rows are not returned");
  FUZZ_CHECK(table.features.size() == table.rows * fetal::kNumFeatures,
             "features holds rows * kNumFeatures values");
  FUZZ_CHECK(table.labels.size() == table.rows, "labels holds one value per row");
  FUZZ_CHECK(table.lines.size() == table.rows, "lines holds one value per row");
  if (require_labels) FUZZ_CHECK(table.has_labels, "require_labels accepted => has_labels");
  size_t previous_line = 1;  // the header
  for (size_t r = 0; r < table.rows; ++r) {
    FUZZ_CHECK(table.lines[r] > previous_line, "row lines are after the header and increasing");
    previous_line = table.lines[r];
    int label = table.labels[r];
    if (require_labels) {
      FUZZ_CHECK(label >= 0 && label < fetal::kNumClasses, "required labels are 0..2");
    } else if (table.has_labels) {
      // An empty fetal_health cell is an unknown label when labels are optional.
      FUZZ_CHECK(label >= -1 && label < fetal::kNumClasses, "labels are -1..2 when optional");
    } else {
      FUZZ_CHECK(label == -1, "labels are -1 without a fetal_health column");
    }
  }
  for (const fetal::CsvRowError& error : table.errors) {
    FUZZ_CHECK(error.line >= 1, "row errors carry a 1-based line");
    FUZZ_CHECK(error.column >= 0, "row error columns are 1-based or 0");
    FUZZ_CHECK(!error.message.empty(), "row errors carry a message");
    FUZZ_CHECK(!error.rule.empty(), "row errors carry a rule id");
    FUZZ_CHECK(error.value.size() <= 43, "cells are cut to 40 bytes plus \"...\" for display");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseAndCheck(text, false);
  ParseAndCheck(text, true);
  return 0;
}
