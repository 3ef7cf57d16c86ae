// CSV reading (RFC 4180 plus the mess spreadsheets produce). Numbers are parsed by hand:
// strtod depends on the C locale and Emscripten's libc++ has no floating-point from_chars.
#include "fetal/csv.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace fetal {

namespace {

constexpr int kIgnored = -1;
constexpr int kLabelColumn = -2;
constexpr std::string_view kLabelName = "fetal_health";

struct Record {
  size_t line = 0;                 // 1-based line the record starts on
  size_t size = 0;                 // cells in use; `cells` keeps spare strings to reuse
  std::vector<std::string> cells;  // their capacity, so a large file allocates once per column
  bool unterminated_quote = false;

  std::string& NewCell() {
    if (size == cells.size()) cells.emplace_back();
    std::string& cell = cells[size++];
    cell.clear();
    return cell;
  }
};

// Splits `text` into records one at a time. Quoted cells may hold commas, doubled quotes and
// line breaks; \r before \n is dropped.
class RecordReader {
 public:
  explicit RecordReader(std::string_view text) : text_(text) {
    if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  bool Next(Record* record) {
    if (pos_ >= text_.size()) return false;
    record->line = line_;
    record->size = 0;
    record->NewCell();
    record->unterminated_quote = false;
    bool in_quotes = false;
    bool cell_was_quoted = false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      std::string& cell = record->cells[record->size - 1];
      if (in_quotes) {
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            cell += '"';
            ++pos_;
          } else {
            in_quotes = false;
          }
        } else {
          if (c == '\n') ++line_;
          cell += c;
        }
        continue;
      }
      if (c == '"' && !cell_was_quoted && IsBlank(cell)) {
        cell.clear();  // spaces before an opening quote are padding
        in_quotes = true;
        cell_was_quoted = true;
      } else if (c == ',') {
        record->NewCell();
        cell_was_quoted = false;
      } else if (c == '\n') {
        ++line_;
        StripCarriageReturn(&cell);
        return true;
      } else {
        // Copy the run of ordinary characters at once: this loop is the reader's hot path.
        size_t end = pos_;
        while (end < text_.size() && text_[end] != ',' && text_[end] != '\n' && text_[end] != '"')
          ++end;
        cell.append(text_.data() + pos_ - 1, end - pos_ + 1);
        pos_ = end;
      }
    }
    StripCarriageReturn(&record->cells[record->size - 1]);
    record->unterminated_quote = in_quotes;
    return true;
  }

 private:
  static bool IsBlank(const std::string& s) {
    return s.find_first_not_of(" \t") == std::string::npos;
  }
  static void StripCarriageReturn(std::string* s) {
    if (!s->empty() && s->back() == '\r') s->pop_back();
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool AllCellsEmpty(const Record& r) {
  for (size_t i = 0; i < r.size; ++i) {
    if (!Trim(r.cells[i]).empty()) return false;
  }
  return true;
}

// "Baseline Value" / "baseline_value" / " baseline value " -> the schema index, the label
// column, or kIgnored.
int ColumnRole(std::string_view header) {
  std::string norm;
  for (char c : Trim(header)) {
    if (c == ' ') c = '_';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    norm += c;
  }
  if (norm == kLabelName) return kLabelColumn;
  const int index = FeatureIndex(norm);
  return index >= 0 ? index : kIgnored;
}

double PowerOfTen(int e) {
  // 1e0..1e22 are exact in binary64, so one multiplication or division rounds correctly.
  static constexpr std::array<double, 23> kExact = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  double p = 1;
  while (e > 22) {
    p *= 1e22;
    e -= 22;
  }
  return p * kExact[e];
}

// Parses a whole cell as a decimal number ("-1", "0.006", ".5", "1e-3", "+2.").
// Locale-independent. Correctly rounded for up to 15 significant digits and |exponent| <= 22
// (one operation on exact operands), which covers every value a CTG feature is written with;
// 16 to 19 digits are rounded twice (to double, then by the power of ten), which can be one unit
// in the last place of a double off, far below the float each feature is kept as. Digits past
// 19 only scale the value. Returns false if the cell is not entirely a number.
bool ParseNumber(std::string_view s, double* out) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  uint64_t mantissa = 0;
  int digits = 0, exponent = 0;
  bool any_digit = false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    any_digit = true;
    if (digits < 19) {
      if (mantissa != 0 || s[i] != '0') ++digits;
      mantissa = mantissa * 10 + static_cast<uint64_t>(s[i] - '0');
    } else {
      ++exponent;  // digits beyond 19 only scale the value
    }
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      any_digit = true;
      if (digits < 19) {
        if (mantissa != 0 || s[i] != '0') ++digits;
        mantissa = mantissa * 10 + static_cast<uint64_t>(s[i] - '0');
        --exponent;
      }
    }
  }
  if (!any_digit) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    int e = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (e < 10000) e = e * 10 + (s[i] - '0');
    }
    exponent += exp_negative ? -e : e;
  }
  if (i != s.size()) return false;
  double v = static_cast<double>(mantissa);
  if (mantissa != 0) {
    if (exponent > 308 + 19) {
      v = std::numeric_limits<double>::infinity();
    } else if (exponent < -(324 + 19)) {
      v = 0;
    } else if (exponent >= 0) {
      v *= PowerOfTen(exponent);
    } else if (exponent >= -22) {
      v /= PowerOfTen(-exponent);
    } else {
      v = v / PowerOfTen(22) / PowerOfTen(-exponent - 22);
    }
  }
  *out = negative ? -v : v;
  return true;
}

// A cell as error messages show it: at most 40 bytes, cut at a UTF-8 character boundary.
std::string Shown(std::string_view cell) {
  constexpr size_t kMaxShown = 40;
  if (cell.size() <= kMaxShown) return std::string(cell);
  size_t n = kMaxShown;
  while (n > 0 && (static_cast<unsigned char>(cell[n]) & 0xC0) == 0x80) --n;  // continuation byte
  return std::string(cell.substr(0, n)) + "...";
}

CsvRowError& AddError(ExamTable* out, size_t line, const char* rule, std::string message) {
  CsvRowError& e = out->errors.emplace_back();
  e.line = line;
  e.rule = rule;
  e.message = std::move(message);
  return e;
}

CsvRowError& AddCellError(ExamTable* out, size_t line, int column, const std::string& field,
                          const char* rule, std::string_view cell, std::string message) {
  CsvRowError& e = AddError(out, line, rule, std::move(message));
  e.column = column;
  e.field = field;
  e.value = Shown(cell);
  return e;
}

}  // namespace

Status ParseExamCsv(std::string_view text, const CsvOptions& options, ExamTable* out) {
  *out = ExamTable();
  RecordReader reader(text);
  Record record;

  // The header is the first record that is not blank. A header problem is an error in `out`
  // and the failed Status.
  bool have_header = false;
  while (reader.Next(&record)) {
    if (!AllCellsEmpty(record)) {
      have_header = true;
      break;
    }
  }
  if (!have_header) {
    const CsvRowError& e =
        AddError(out, 1, "empty_file",
                 "the CSV file is empty; expected a header line naming the 21 feature columns "
                 "(e.g. \"baseline value,accelerations,...\")");
    return Status::InvalidArgument(e.message, "line 1");
  }
  const size_t header_line = record.line;
  if (record.unterminated_quote) {
    const CsvRowError& e = AddError(
        out, header_line, "header_unclosed_quote",
        "the header has a quote that is never closed; expected comma-separated column names");
    return Status::InvalidArgument(e.message, "line " + std::to_string(header_line));
  }

  const std::vector<std::string> header(record.cells.begin(), record.cells.begin() + record.size);
  std::vector<int> role(header.size());
  std::array<int, kNumFeatures>& column_of = out->columns;  // 1-based; 0 = not seen yet
  int label_column = 0;
  for (size_t c = 0; c < header.size(); ++c) {
    role[c] = ColumnRole(header[c]);
    if (role[c] == kIgnored) continue;
    int& first = role[c] == kLabelColumn ? label_column : column_of[role[c]];
    const int column = static_cast<int>(c + 1);
    if (first > 0) {
      CsvRowError& e =
          AddError(out, header_line, "duplicate_column",
                   "the column \"" + header[c] + "\" appears twice in the header (columns " +
                       std::to_string(first) + " and " + std::to_string(column) + ")");
      e.column = column;
      e.field = header[c];
      e.first_column = first;
      const std::string_view key =
          role[c] == kLabelColumn ? kLabelName : FeatureSchema()[role[c]].key;
      return Status::InvalidArgument(e.message, std::string(key));
    }
    first = column;
  }
  std::string missing;
  int first_missing = -1;
  for (int f = 0; f < kNumFeatures; ++f) {
    if (column_of[f] > 0) continue;
    const std::string name(FeatureSchema()[f].name);
    AddError(out, header_line, "missing_column",
             "the header lacks the feature column \"" + name + "\"")
        .field = name;
    if (first_missing < 0) first_missing = f;
    if (!missing.empty()) missing += ", ";
    missing += "\"" + name + "\"";
  }
  if (first_missing >= 0) {
    return Status::InvalidArgument(
        "the header lacks the feature column(s) " + missing +
            "; expected all 21 dataset column names (or their snake_case keys), in any order",
        std::string(FeatureSchema()[first_missing].key));
  }
  if (options.require_labels && label_column == 0) {
    const CsvRowError& e = AddError(
        out, header_line, "missing_label_column",
        "the header has no fetal_health column; expected labels 1 (Normal), 2 (Suspect) or "
        "3 (Pathological)");
    return Status::InvalidArgument(e.message, std::string(kLabelName));
  }
  out->has_labels = label_column > 0;

  std::array<float, kNumFeatures> row{};
  while (reader.Next(&record)) {
    if (AllCellsEmpty(record)) continue;  // blank lines, and spreadsheets' ",,,," rows
    if (out->rows >= options.max_rows) {
      AddError(out, record.line, "too_many_rows",
               "the file has more than " + std::to_string(options.max_rows) +
                   " exam rows; this row and the ones after it were not read")
          .max_rows = options.max_rows;
      break;
    }
    if (record.unterminated_quote) {
      AddError(out, record.line, "unclosed_quote",
               "a quoted cell is never closed; expected a closing \" before the end of the file");
      break;
    }
    size_t cells = record.size;
    while (cells > header.size() && Trim(record.cells[cells - 1]).empty())
      --cells;  // trailing commas
    if (cells != header.size()) {
      CsvRowError& e = AddError(out, record.line, "wrong_cell_count",
                                "the row has " + std::to_string(record.size) +
                                    " cells but the header has " + std::to_string(header.size()) +
                                    " columns; expected one cell per header column");
      e.cells = record.size;
      e.header_cells = header.size();
      continue;
    }
    bool row_ok = true;
    int label = -1;
    for (size_t c = 0; c < header.size(); ++c) {
      if (role[c] == kIgnored) continue;
      const std::string_view cell = Trim(record.cells[c]);
      const int column = static_cast<int>(c + 1);
      if (role[c] == kLabelColumn) {
        double v = 0;
        if (cell.empty() && !options.require_labels) continue;
        if (!ParseNumber(cell, &v) || (v != 1 && v != 2 && v != 3)) {
          AddCellError(out, record.line, column, header[c], "bad_label", cell,
                       "expected the label 1 (Normal), 2 (Suspect) or 3 (Pathological), got \"" +
                           Shown(cell) + "\"");
          row_ok = false;
        } else {
          label = static_cast<int>(v) - 1;
        }
        continue;
      }
      if (cell.empty()) {
        row[role[c]] = std::numeric_limits<float>::quiet_NaN();  // the validator reports it
        continue;
      }
      double v = 0;
      if (!ParseNumber(cell, &v)) {
        std::string message = "expected a number, got \"" + Shown(cell) + "\"";
        std::string dotted(cell);
        for (char& ch : dotted) {
          if (ch == ',') ch = '.';
        }
        const bool decimal_comma = ParseNumber(dotted, &v);
        if (decimal_comma) message += "; use a dot as the decimal separator";
        AddCellError(out, record.line, column, header[c],
                     decimal_comma ? "decimal_comma" : "not_a_number", cell, std::move(message));
        row_ok = false;
        continue;
      }
      row[role[c]] = static_cast<float>(v);
    }
    if (!row_ok) continue;
    out->features.insert(out->features.end(), row.begin(), row.end());
    out->labels.push_back(label);
    out->lines.push_back(record.line);
    ++out->rows;
  }
  return Status::Ok();
}

}  // namespace fetal
