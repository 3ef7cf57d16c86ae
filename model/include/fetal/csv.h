// CSV reading of exams, shared by the trainer, the CLI, the server and the browser's batch mode.
//
// Columns are matched by header name (dataset column names such as "baseline value", or keys such
// as "baseline_value"); order does not matter, extra columns are ignored, a missing feature
// column is an error. Rows that cannot be read are reported by line and column and skipped; the
// rest are still returned.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "fetal/schema.h"
#include "fetal/status.h"

namespace fetal {

struct CsvRowError {
  size_t line = 0;     // 1-based line in the file (the header is line 1)
  int column = 0;      // 1-based column, 0 when the whole row is at fault
  std::string field;   // header name of the column, empty when the whole row is at fault
  std::string message; // "expected a number, got \"abc\""
};

struct ExamTable {
  size_t rows = 0;
  std::vector<float> features;   // rows * kNumFeatures, schema order; empty cell -> NaN
  std::vector<int> labels;       // rows; class 0..2 from fetal_health (1..3), -1 if no column
  std::vector<size_t> lines;     // rows; the 1-based source line of each accepted row
  std::vector<CsvRowError> errors;
  bool has_labels = false;
};

struct CsvOptions {
  bool require_labels = false;   // a missing fetal_health column is then an error
  size_t max_rows = 1000000;     // rows beyond this are an error, not silently dropped
};

// Fails (InvalidArgument naming the column) only when the header cannot be used; row-level
// problems land in out->errors. Accepts \n and \r\n line ends, a UTF-8 BOM, quoted cells.
Status ParseExamCsv(std::string_view text, const CsvOptions& options, ExamTable* out);

}  // namespace fetal
