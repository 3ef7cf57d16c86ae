// Writes the binary seed inputs of the fuzz corpora (fuzz/corpus/<harness>/), so the seeds are
// reproducible rather than opaque blobs:
//   bundle/tiny.bundle          a small valid bundle built by hand (4 trees, fitted-looking OOD)
//   xgboost_import/tiny.json      a real libxgboost 1.7 multi:softprob model, 2 rounds, depth 2
//   validator/*.bin             exams as raw floats (typical, missing values, with a range)
// Usage: fuzz_make_seeds CORPUS_DIR DATASET_CSV
// Text seeds (CSV, JSON bodies) are committed as written; they need no generator.
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "fetal/bundle.h"
#include "fetal/csv.h"
#include "fetal/figo.h"
#include "fetal/model.h"
#include "fetal/schema.h"
#include "seed_model.h"

namespace {

bool WriteFile(const std::string& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::cerr << "cannot write " << path << "\n";
  return static_cast<bool>(out);
}

int WriteXgboostSeed(const std::string& dir, const fetal::ExamTable& table) {
  const size_t rows = std::min<size_t>(table.rows, 300);
  std::vector<float> labels(rows);
  for (size_t r = 0; r < rows; ++r) labels[r] = static_cast<float>(table.labels[r]);
  DMatrixHandle matrix;
  BoosterHandle booster;
  if (XGDMatrixCreateFromMat(table.features.data(), rows, fetal::kNumFeatures,
                             std::numeric_limits<float>::quiet_NaN(), &matrix) != 0 ||
      XGDMatrixSetFloatInfo(matrix, "label", labels.data(), rows) != 0 ||
      XGBoosterCreate(&matrix, 1, &booster) != 0) {
    std::cerr << "xgboost: " << XGBGetLastError() << "\n";
    return 1;
  }
  const char* params[][2] = {{"objective", "multi:softprob"},
                             {"num_class", "3"},
                             {"tree_method", "hist"},
                             {"max_depth", "2"},
                             {"nthread", "1"},
                             {"seed", "7"}};
  for (auto& p : params) XGBoosterSetParam(booster, p[0], p[1]);
  for (int round = 0; round < 2; ++round) XGBoosterUpdateOneIter(booster, round, matrix);
  bst_ulong length = 0;
  const char* json = nullptr;
  if (XGBoosterSaveModelToBuffer(booster, "{\"format\": \"json\"}", &length, &json) != 0) {
    std::cerr << "xgboost: " << XGBGetLastError() << "\n";
    return 1;
  }
  bool ok = WriteFile(dir + "/xgboost_import/tiny.json", json, length);
  XGBoosterFree(booster);
  XGDMatrixFree(matrix);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_make_seeds CORPUS_DIR DATASET_CSV\n";
    return 2;
  }
  const std::string dir = argv[1];
  std::ifstream csv_file(argv[2], std::ios::binary);
  std::stringstream csv_text;
  csv_text << csv_file.rdbuf();
  fetal::ExamTable table;
  fetal::CsvOptions options;
  options.require_labels = true;
  fetal::Status s = fetal::ParseExamCsv(csv_text.str(), options, &table);
  if (!s.ok() || table.rows == 0) {
    std::cerr << "cannot read " << argv[2] << ": " << s.ToString() << "\n";
    return 1;
  }

  fetal::Model model = fetal_fuzz::TinyModel();
  s = fetal::CheckModel(model);
  if (!s.ok()) {
    std::cerr << "seed model rejected: " << s.ToString() << "\n";
    return 1;
  }
  std::vector<uint8_t> bundle = fetal::WriteBundle(model);
  if (!WriteFile(dir + "/bundle/tiny.bundle", bundle.data(), bundle.size())) return 1;

  // Validator seeds: a dataset row; the same with a training range; with missing values.
  const float* first = table.features.data();
  if (!WriteFile(dir + "/validator/typical.bin", first, sizeof(float) * fetal::kNumFeatures)) {
    return 1;
  }
  std::vector<float> with_range(first, first + fetal::kNumFeatures);
  with_range.insert(with_range.end(), model.training_range.min.begin(),
                    model.training_range.min.end());
  with_range.insert(with_range.end(), model.training_range.max.begin(),
                    model.training_range.max.end());
  if (!WriteFile(dir + "/validator/with_range.bin", with_range.data(),
                 sizeof(float) * with_range.size())) {
    return 1;
  }
  std::vector<float> missing(first, first + fetal::kNumFeatures);
  missing[3] = std::numeric_limits<float>::quiet_NaN();
  missing[10] = std::numeric_limits<float>::infinity();
  if (!WriteFile(dir + "/validator/missing.bin", missing.data(), sizeof(float) * missing.size())) {
    return 1;
  }
  // A pathological row, so cross-field and FIGO rules fire.
  for (size_t r = 0; r < table.rows; ++r) {
    if (table.labels[r] == 2) {
      const float* row = table.features.data() + r * fetal::kNumFeatures;
      if (!WriteFile(dir + "/validator/pathological.bin", row,
                     sizeof(float) * fetal::kNumFeatures)) {
        return 1;
      }
      break;
    }
  }
  return WriteXgboostSeed(dir, table);
}
