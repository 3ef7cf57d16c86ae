// Training data: loading the labelled CSV, exact-duplicate removal and the published CV folds.
//
// Native only (reads files). Row indices everywhere are 0-based positions in the ORIGINAL file
// (data line k is row k-2 counting the header as line 1), because the published folds index them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fetal/csv.h"
#include "fetal/status.h"

namespace fetal {
namespace trainer {

struct Dataset {
  std::string path;       // as given by the caller
  std::string file_name;  // last path component, for the model card
  std::string sha256;     // hex SHA-256 of the file's bytes
  ExamTable table;        // labelled rows, in file order
};

// Reads and parses a labelled CSV. Every row must parse: the first row error fails the load with
// InvalidArgument whose field() is "line L, column C" (column omitted for whole-row errors).
Status LoadDataset(const std::string& path, Dataset* out);

// Reads a whole file. IoError naming the path on failure.
Status ReadFileBytes(const std::string& path, std::string* out);

// Rows of `candidates` (in their order) that are not exact duplicates: a row is dropped if an
// earlier kept candidate has bit-identical features and the same label, or if it is identical
// (features and label) to any row of `exclude`. Keeps the first occurrence.
std::vector<size_t> DeduplicateRows(const ExamTable& table, const std::vector<size_t>& candidates,
                                    const std::vector<size_t>& exclude = {});

// All rows 0..table.rows-1.
std::vector<size_t> AllRows(const ExamTable& table);

// One train/test split of the published protocol.
struct CvSplit {
  int repeat = 0;
  int fold = 0;
  std::vector<size_t> train;  // every row not in the test fold (before any de-duplication)
  std::vector<size_t> test;   // rows whose repeatK column equals `fold`
};

// Parses the folds file (header "row,repeat0,...,repeatK-1"; one line per data row; row is the
// 0-based data row, fold in 0..4). `rows` is the dataset's row count: every row must appear
// exactly once. Splits come back ordered by repeat, then fold.
Status ParseFolds(std::string_view text, size_t rows, std::vector<CvSplit>* out);

// Stratified K-fold assignment for `rows` (fold index per position of `rows`), deterministic for
// a given seed: each class's rows are shuffled (Fisher-Yates on a fixed mt19937_64) and dealt out
// round-robin, so every fold gets within one row of its share of each class.
std::vector<int> StratifiedFolds(const ExamTable& table, const std::vector<size_t>& rows, int k,
                                 uint64_t seed);

// A folds file (the format ParseFolds reads) of `repeats` repeats of stratified k-fold over every
// row of `table`; repeat r (< 1000) uses StratifiedFolds with seed `seed * 1000 + r`, so the
// repeats of different seeds never share a shuffle.
std::string GenerateFoldsCsv(const ExamTable& table, int repeats, int k, uint64_t seed);

}  // namespace trainer
}  // namespace fetal
