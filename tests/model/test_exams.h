// Exams for tests: the published dataset, parsed, and one known-valid exam.
#pragma once

#include <array>
#include <fstream>
#include <sstream>
#include <string>

#include "fetal/csv.h"
#include "fetal/schema.h"

namespace fetal::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string DatasetPath() { return std::string(FETAL_DATA_DIR) + "/fetal_health.csv"; }

// The whole dataset, parsed; fails the calling test through the returned flag.
inline bool LoadDataset(ExamTable* table) {
  const std::string text = ReadFile(DatasetPath());
  CsvOptions options;
  options.require_labels = true;
  return !text.empty() && ParseExamCsv(text, options, table).ok() && table->errors.empty();
}

// Dataset row 2 (line 3 of the CSV): a Normal exam that satisfies every rule.
inline std::array<float, kNumFeatures> ValidExam() {
  return {132, 0.006f, 0,   0.006f, 0.003f, 0,   0,   17,  2.1f, 0, 10.4f,
          130, 68,     198, 6,      1,      141, 136, 140, 12,   0};
}

}  // namespace fetal::testing
