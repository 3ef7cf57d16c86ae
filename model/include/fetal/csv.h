// CSV reading of exams, shared by the trainer, the CLI, the server and the browser's batch mode.
//
// Columns are matched by header name (dataset column names such as "baseline value", or keys such
// as "baseline_value"); order does not matter, extra columns are ignored, a missing feature
// column is an error. Rows that cannot be read are reported by line and column and skipped; the
// rest are still returned.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "fetal/schema.h"
#include "fetal/status.h"

namespace fetal {

// One problem with the file: the header (then nothing is read) or one row (then that row is
// skipped). `rule` is a stable machine id and the fields after it its arguments, so a UI can say
// the same thing in another language without reading `message`; `message` is the English
// sentence the CLI prints.
//
// Rules and the arguments they fill (all errors fill `line`):
//   header, ParseExamCsv fails:
//     "empty_file"             no header line at all
//     "header_unclosed_quote"  the header opens a quote it never closes
//     "duplicate_column"       `field` (the header cell) appears at `column` and, first, at
//                              `first_column` (a feature column or fetal_health)
//     "missing_column"         `field` (the feature's dataset column name) is not in the header;
//                              one error per missing feature, in schema order
//     "missing_label_column"   no fetal_health column although CsvOptions::require_labels
//   rows, ParseExamCsv succeeds:
//     "too_many_rows"          more than `max_rows` rows; this row and the rest were not read
//     "unclosed_quote"         a quoted cell is never closed before the end of the file
//     "wrong_cell_count"       the row has `cells` cells, the header `header_cells`
//     "bad_label"              fetal_health cell `value` (at `column`, `field`) is not 1, 2 or 3
//     "not_a_number"           feature cell `value` (at `column`, `field`) is not a number
//     "decimal_comma"          the same, but `value` reads as a number with a decimal comma
struct CsvRowError {
  size_t line = 0;          // 1-based line in the file (the header is usually line 1)
  int column = 0;           // 1-based column, 0 when the whole row is at fault
  std::string field;        // header name of the column, empty when the whole row is at fault
  std::string rule;         // one of the ids above
  std::string value;        // the cell as written, trimmed; cut to at most 40 bytes (at a UTF-8
                            // character boundary) followed by "..." when longer
  int first_column = 0;     // duplicate_column
  size_t max_rows = 0;      // too_many_rows
  size_t cells = 0;         // wrong_cell_count
  size_t header_cells = 0;  // wrong_cell_count
  std::string message;      // "expected a number, got \"abc\""
};

struct ExamTable {
  size_t rows = 0;
  std::vector<float> features;  // rows * kNumFeatures, schema order; empty cell -> NaN
  std::vector<int> labels;      // rows; class 0..2 from fetal_health (1..3), -1 if no column
  std::vector<size_t> lines;    // rows; the 1-based source line of each accepted row
  std::array<int, kNumFeatures> columns{};  // the 1-based header column of each feature
  std::vector<CsvRowError> errors;
  bool has_labels = false;
};

struct CsvOptions {
  bool require_labels = false;  // a missing fetal_health column is then an error
  size_t max_rows = 1000000;    // rows beyond this are an error, not silently dropped
};

// Fails (InvalidArgument naming the column, its message the English of every header error) only
// when the header cannot be used; `out` then has no rows and `out->errors` holds those header
// errors. Otherwise row-level problems land in out->errors. Accepts \n and \r\n line ends, a
// UTF-8 BOM, quoted cells. Never throws; `out` is reset first.
Status ParseExamCsv(std::string_view text, const CsvOptions& options, ExamTable* out);

}  // namespace fetal
