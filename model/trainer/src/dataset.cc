#include "fetal/trainer/dataset.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <unordered_map>

#include "fetal/sha256.h"

namespace fetal {
namespace trainer {

Status ReadFileBytes(const std::string& path, std::string* out) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return Status::IoError("cannot read " + path + ": it is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + path);
  *out = buffer.str();
  return Status::Ok();
}

Status LoadDataset(const std::string& path, Dataset* out) {
  std::string bytes;
  Status s = ReadFileBytes(path, &bytes);
  if (!s.ok()) return s;
  out->path = path;
  size_t slash = path.find_last_of('/');
  out->file_name = slash == std::string::npos ? path : path.substr(slash + 1);
  out->sha256 = Sha256Hex(bytes.data(), bytes.size());
  CsvOptions options;
  options.require_labels = true;
  out->table = ExamTable();
  s = ParseExamCsv(bytes, options, &out->table);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message(), s.field());
  if (!out->table.errors.empty()) {
    const CsvRowError& e = out->table.errors.front();
    std::string where = "line " + std::to_string(e.line);
    if (e.column > 0) where += ", column " + std::to_string(e.column);
    std::string what = e.field.empty() ? e.message : e.field + ": " + e.message;
    std::string more = out->table.errors.size() > 1
                           ? " (and " + std::to_string(out->table.errors.size() - 1) + " more)"
                           : "";
    return Status::InvalidArgument(path + ":" + std::to_string(e.line) +
                                       (e.column > 0 ? ":" + std::to_string(e.column) : "") + ": " +
                                       what + more,
                                   where);
  }
  if (out->table.rows == 0) return Status::InvalidArgument(path + ": no data rows");
  for (size_t r = 0; r < out->table.rows; ++r) {
    int label = out->table.labels[r];
    if (label < 0 || label >= kNumClasses) {
      return Status::InvalidArgument(path + ":" + std::to_string(out->table.lines[r]) +
                                         ": fetal_health must be 1, 2 or 3",
                                     "line " + std::to_string(out->table.lines[r]));
    }
  }
  return Status::Ok();
}

std::vector<size_t> AllRows(const ExamTable& table) {
  std::vector<size_t> rows(table.rows);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

namespace {

// Bit patterns, so -0.0/0.0 differ and NaN equals NaN: "exact duplicate" means identical text.
struct RowKey {
  uint32_t bits[kNumFeatures + 1];
  bool operator==(const RowKey& o) const { return std::memcmp(bits, o.bits, sizeof bits) == 0; }
};
struct RowKeyHash {
  size_t operator()(const RowKey& k) const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (uint32_t b : k.bits) h = (h ^ b) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

RowKey KeyOf(const ExamTable& table, size_t row) {
  RowKey key;
  std::memcpy(key.bits, &table.features[row * kNumFeatures], sizeof(float) * kNumFeatures);
  key.bits[kNumFeatures] = static_cast<uint32_t>(table.labels[row]);
  return key;
}

}  // namespace

std::vector<size_t> DeduplicateRows(const ExamTable& table, const std::vector<size_t>& candidates,
                                    const std::vector<size_t>& exclude) {
  std::unordered_map<RowKey, bool, RowKeyHash> seen;  // value unused
  for (size_t row : exclude) seen.emplace(KeyOf(table, row), true);
  std::vector<size_t> kept;
  kept.reserve(candidates.size());
  for (size_t row : candidates) {
    if (seen.emplace(KeyOf(table, row), true).second) kept.push_back(row);
  }
  return kept;
}

Status ParseFolds(std::string_view text, size_t rows, std::vector<CvSplit>* out) {
  out->clear();
  std::vector<std::vector<std::string>> lines;
  size_t pos = 0;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string> cells;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      cells.emplace_back(line.substr(start, comma == std::string_view::npos ? line.size() - start
                                                                            : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    lines.push_back(std::move(cells));
    pos = end + 1;
  }
  while (!lines.empty() && lines.back().size() == 1 && lines.back()[0].empty()) lines.pop_back();
  if (lines.empty()) return Status::InvalidArgument("folds file is empty", "line 1");
  const std::vector<std::string>& header = lines[0];
  if (header.size() < 2 || header[0] != "row") {
    return Status::InvalidArgument("folds header must be \"row,repeat0,repeat1,...\", got \"" +
                                       (header.empty() ? std::string() : header[0]) + "...\"",
                                   "line 1, column 1");
  }
  const int repeats = static_cast<int>(header.size()) - 1;
  for (int r = 0; r < repeats; ++r) {
    if (header[r + 1] != "repeat" + std::to_string(r)) {
      return Status::InvalidArgument("folds header column " + std::to_string(r + 2) +
                                         " must be \"repeat" + std::to_string(r) + "\", got \"" +
                                         header[r + 1] + "\"",
                                     "line 1, column " + std::to_string(r + 2));
    }
  }
  if (lines.size() - 1 != rows) {
    return Status::InvalidArgument("folds file has " + std::to_string(lines.size() - 1) +
                                       " rows but the data has " + std::to_string(rows) +
                                       "; the folds must index every data row",
                                   "line " + std::to_string(lines.size()));
  }
  constexpr int kMaxFold = 1000;
  std::vector<std::vector<int>> fold_of(repeats, std::vector<int>(rows, -1));
  int max_fold = -1;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string>& cells = lines[i];
    std::string where = "line " + std::to_string(i + 1);
    if (cells.size() != header.size()) {
      return Status::InvalidArgument("expected " + std::to_string(header.size()) + " cells, got " +
                                         std::to_string(cells.size()),
                                     where);
    }
    auto parse_int = [](const std::string& s, long* v) {
      if (s.empty() || s.size() > 9) return false;
      for (char c : s)
        if (c < '0' || c > '9') return false;
      *v = std::stol(s);
      return true;
    };
    long row = 0;
    if (!parse_int(cells[0], &row) || static_cast<size_t>(row) >= rows) {
      return Status::InvalidArgument("row must be an integer 0.." + std::to_string(rows - 1) +
                                         ", got \"" + cells[0] + "\"",
                                     where + ", column 1");
    }
    for (int r = 0; r < repeats; ++r) {
      long fold = 0;
      if (!parse_int(cells[r + 1], &fold) || fold >= kMaxFold) {
        return Status::InvalidArgument("fold must be a small non-negative integer, got \"" +
                                           cells[r + 1] + "\"",
                                       where + ", column " + std::to_string(r + 2));
      }
      if (fold_of[r][row] >= 0) {
        return Status::InvalidArgument("row " + std::to_string(row) + " appears twice",
                                       where + ", column 1");
      }
      fold_of[r][row] = static_cast<int>(fold);
      if (fold > max_fold) max_fold = static_cast<int>(fold);
    }
  }
  for (int r = 0; r < repeats; ++r) {
    for (int f = 0; f <= max_fold; ++f) {
      CvSplit split;
      split.repeat = r;
      split.fold = f;
      for (size_t row = 0; row < rows; ++row) {
        (fold_of[r][row] == f ? split.test : split.train).push_back(row);
      }
      if (split.test.empty() || split.train.empty()) {
        return Status::InvalidArgument("repeat" + std::to_string(r) + " fold " + std::to_string(f) +
                                           " has an empty train or test set",
                                       "column " + std::to_string(r + 2));
      }
      out->push_back(std::move(split));
    }
  }
  return Status::Ok();
}

std::vector<int> StratifiedFolds(const ExamTable& table, const std::vector<size_t>& rows, int k,
                                 uint64_t seed) {
  std::vector<int> fold(rows.size(), 0);
  std::mt19937_64 rng(seed);
  int next = 0;  // continue dealing across classes so small classes do not all start at fold 0
  for (int c = 0; c < kNumClasses; ++c) {
    std::vector<size_t> positions;
    for (size_t i = 0; i < rows.size(); ++i)
      if (table.labels[rows[i]] == c) positions.push_back(i);
    // Fisher-Yates with our own bounded draw: std::shuffle's algorithm is unspecified.
    for (size_t i = positions.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(rng() % i);
      std::swap(positions[i - 1], positions[j]);
    }
    for (size_t position : positions) {
      fold[position] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

std::string GenerateFoldsCsv(const ExamTable& table, int repeats, int k, uint64_t seed) {
  const std::vector<size_t> rows = AllRows(table);
  std::vector<std::vector<int>> folds;
  for (int r = 0; r < repeats; ++r)
    folds.push_back(StratifiedFolds(table, rows, k, seed * 1000 + r));
  std::string out = "row";
  for (int r = 0; r < repeats; ++r) out += ",repeat" + std::to_string(r);
  out += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    out += std::to_string(i);
    for (int r = 0; r < repeats; ++r) out += "," + std::to_string(folds[r][i]);
    out += "\n";
  }
  return out;
}

}  // namespace trainer
}  // namespace fetal
