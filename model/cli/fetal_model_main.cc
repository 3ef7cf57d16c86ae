// fetal-model: train, cross-validate, inspect, sign and run Fetal Health model bundles.
//
// Exit status: 0 success; 1 the operation ran but failed (signature does not verify, some input
// rows failed validation, training failed); 2 usage error or unreadable/invalid input file.
// Every error is one line on stderr starting with "fetal-model <verb>: ".
#include <sys/stat.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "fetal/bundle.h"
#include "fetal/csv.h"
#include "fetal/evaluator.h"
#include "fetal/explainer.h"
#include "fetal/figo.h"
#include "fetal/ood.h"
#include "fetal/schema.h"
#include "fetal/signature.h"
#include "fetal/validator.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/metrics.h"
#include "fetal/trainer/model_card.h"
#include "fetal/trainer/trainer.h"
#include "fetal/trainer/tune.h"

namespace fetal {
namespace cli {
namespace {

using trainer::CvResult;
using trainer::CvSplit;
using trainer::CvSplitResult;
using trainer::Dataset;
using trainer::TrainParams;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

std::string g_verb;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "fetal-model %s: %s\n", g_verb.c_str(), message.c_str());
  return code;
}
int Fail(int code, const Status& s) { return Fail(code, s.message()); }

// Writes via a temporary file and rename, so a failed run never leaves half a bundle behind.
// Not for an existing non-regular file (/dev/null, /dev/stdout, a FIFO): renaming over those
// would replace the device itself (as root, /dev/null became a regular file); write in place.
Status WriteFileBytes(const std::string& path, const void* data, size_t size, bool private_file) {
  struct stat existing;
  if (stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    FILE* f = std::fopen(path.c_str(), "wb");
    bool ok = f && std::fwrite(data, 1, size, f) == size;
    ok = f && (std::fclose(f) == 0) && ok;
    return ok ? Status::Ok() : Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  if (private_file) chmod(tmp.c_str(), 0600);
  bool ok = std::fwrite(data, 1, size, f) == size;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}
Status WriteFileText(const std::string& path, const std::string& text, bool private_file = false) {
  return WriteFileBytes(path, text.data(), text.size(), private_file);
}

Status LoadBundle(const std::string& path, std::string* bytes, Model* model) {
  Status s = trainer::ReadFileBytes(path, bytes);
  if (!s.ok()) return s;
  s = ReadBundle(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), model);
  if (!s.ok()) return Status::Corruption(path + " is not a valid model bundle: " + s.message());
  return Status::Ok();
}

// ---- training parameters shared by train, cv and tune ----

const char* const kParamOptions[] = {"--max-depth", "--eta",           "--rounds",
                                     "--min-child-weight", "--subsample", "--colsample-bytree",
                                     "--lambda",    "--class-weight",  "--temperature-folds"};

const char* kParamHelp =
    "training parameters (defaults chosen by `fetal-model tune`, see docs/training.md):\n"
    "  --max-depth N  --eta X  --rounds N  --min-child-weight X  --subsample X\n"
    "  --colsample-bytree X  --lambda X  --class-weight W_NORMAL,W_SUSPECT,W_PATHOLOGICAL\n"
    "  --temperature-folds K\n";

void AddParamOptions(OptionSpec* spec) {
  for (const char* name : kParamOptions) spec->with_value.insert(name);
}

Status ReadParams(const Args& args, TrainParams* p) {
  long depth = p->max_depth, rounds = p->rounds, folds = p->temperature_folds;
  Status s;
  if (!(s = args.GetInt("--max-depth", 1, 16, &depth)).ok()) return s;
  if (!(s = args.GetInt("--rounds", 1, 5000, &rounds)).ok()) return s;
  if (!(s = args.GetInt("--temperature-folds", 2, 20, &folds)).ok()) return s;
  if (!(s = args.GetDouble("--eta", 1e-4, 1, &p->eta)).ok()) return s;
  if (!(s = args.GetDouble("--min-child-weight", 0, 1e6, &p->min_child_weight)).ok()) return s;
  if (!(s = args.GetDouble("--subsample", 0.01, 1, &p->subsample)).ok()) return s;
  if (!(s = args.GetDouble("--colsample-bytree", 0.01, 1, &p->colsample_bytree)).ok()) return s;
  if (!(s = args.GetDouble("--lambda", 0, 1e6, &p->reg_lambda)).ok()) return s;
  p->max_depth = static_cast<int>(depth);
  p->rounds = static_cast<int>(rounds);
  p->temperature_folds = static_cast<int>(folds);
  if (args.Has("--class-weight")) {
    std::string text = args.Get("--class-weight");
    double w[3];
    char extra;
    if (std::sscanf(text.c_str(), "%lf,%lf,%lf%c", &w[0], &w[1], &w[2], &extra) != 3 ||
        !(w[0] > 0 && w[1] > 0 && w[2] > 0) || !std::isfinite(w[0] + w[1] + w[2])) {
      return Status::InvalidArgument(
          "--class-weight must be three positive numbers like 1,2,2, got \"" + text + "\"",
          "--class-weight");
    }
    p->class_weight = {w[0], w[1], w[2]};
  }
  return p->Check();
}

Status LoadFolds(const std::string& path, size_t rows, std::vector<CvSplit>* splits) {
  std::string text;
  Status s = trainer::ReadFileBytes(path, &text);
  if (!s.ok()) return s;
  s = trainer::ParseFolds(text, rows, splits);
  if (!s.ok()) {
    return Status::InvalidArgument(path + (s.field().empty() ? "" : " " + s.field()) + ": " +
                                   s.message());
  }
  return Status::Ok();
}

// ---- cv report ----

void PrintCvTable(const CvResult& cv, FILE* out) {
  std::fprintf(out, "%-6s %-4s %6s %5s %6s | %8s %8s %8s %8s %8s %8s | %8s %8s %8s\n", "repeat",
               "fold", "train", "dupes", "T", "accuracy", "macroF1", "balAcc", "rec_N", "rec_S",
               "rec_P", "logloss", "brier", "ECE");
  for (const CvSplitResult& s : cv.splits) {
    const trainer::ClassificationMetrics& m = s.metrics;
    std::fprintf(out,
                 "%-6d %-4d %6zu %5zu %6.3f | %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f | %8.4f %8.4f "
                 "%8.4f\n",
                 s.repeat, s.fold, s.train_rows, s.train_rows_removed, s.temperature, m.accuracy,
                 m.macro_f1, m.balanced_accuracy, m.recall[0], m.recall[1], m.recall[2],
                 m.log_loss, m.brier, m.ece);
  }
  auto column = [&cv](auto get) {
    std::vector<double> v;
    for (const CvSplitResult& s : cv.splits) v.push_back(get(s));
    return trainer::Summarize(v);
  };
  using M = const CvSplitResult&;
  trainer::MeanStd cols[] = {
      column([](M s) { return s.temperature; }),
      column([](M s) { return s.metrics.accuracy; }),
      column([](M s) { return s.metrics.macro_f1; }),
      column([](M s) { return s.metrics.balanced_accuracy; }),
      column([](M s) { return s.metrics.recall[0]; }),
      column([](M s) { return s.metrics.recall[1]; }),
      column([](M s) { return s.metrics.recall[2]; }),
      column([](M s) { return s.metrics.log_loss; }),
      column([](M s) { return s.metrics.brier; }),
      column([](M s) { return s.metrics.ece; }),
  };
  std::fprintf(out, "%-25s %6.3f | %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f | %8.4f %8.4f %8.4f\n",
               "mean", cols[0].mean, cols[1].mean, cols[2].mean, cols[3].mean, cols[4].mean,
               cols[5].mean, cols[6].mean, cols[7].mean, cols[8].mean, cols[9].mean);
  std::fprintf(out, "%-25s %6.3f | %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f | %8.4f %8.4f %8.4f\n",
               "std", cols[0].std, cols[1].std, cols[2].std, cols[3].std, cols[4].std,
               cols[5].std, cols[6].std, cols[7].std, cols[8].std, cols[9].std);
  std::fprintf(out, "\nmean ± std over %zu splits:\n", cv.splits.size());
  const char* names[] = {"temperature", "accuracy", "macro-F1", "balanced accuracy",
                         "recall Normal", "recall Suspect", "recall Pathological", "log loss",
                         "Brier score", "top-label ECE (15 bins)"};
  for (int i = 0; i < 10; ++i) {
    std::fprintf(out, "  %-24s %s\n", names[i], trainer::FormatMeanStd(cols[i]).c_str());
  }
}

std::string PredictionsCsv(const CvResult& cv) {
  std::string out = "repeat,fold,row,p_normal,p_suspect,p_pathological\n";
  char buf[160];
  for (const CvSplitResult& s : cv.splits) {
    for (size_t i = 0; i < s.test_rows.size(); ++i) {
      const float* p = &s.probabilities[i * kNumClasses];
      std::snprintf(buf, sizeof buf, "%d,%d,%zu,%.6f,%.6f,%.6f\n", s.repeat, s.fold,
                    s.test_rows[i], p[0], p[1], p[2]);
      out += buf;
    }
  }
  return out;
}

// ---- verbs ----

int Train(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--data", "--out", "--card", "--folds", "--created", "--model-version",
                     "--name"};
  spec.switches = {"--no-cv"};
  AddParamOptions(&spec);
  Args args;
  Status s = args.Parse("train", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model train --data CSV --out BUNDLE [--card MD] [--folds CSV | --no-cv]\n"
        "                         [--created ISO8601] [--model-version N] [--name NAME]\n"
        "Trains on every row of CSV (exact duplicates removed), fits the temperature on\n"
        "out-of-fold margins and the OOD reference, cross-validates on the published folds\n"
        "(default: cv_folds.csv beside CSV; --no-cv skips it) and writes the bundle and,\n"
        "with --card, a markdown model card. Same input and --created -> identical bytes.\n"
        "--created defaults to $SOURCE_DATE_EPOCH, else the current time.\n%s",
        kParamHelp);
    return kExitOk;
  }
  std::string data_path, out_path;
  if (!(s = args.Require("--data", &data_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--out", &out_path)).ok()) return Fail(kExitUsage, s);
  if (args.Has("--folds") && args.Has("--no-cv"))
    return Fail(kExitUsage, "--folds and --no-cv cannot be used together");
  TrainParams params;
  if (!(s = ReadParams(args, &params)).ok()) return Fail(kExitUsage, s);
  long model_version = 1;
  if (!(s = args.GetInt("--model-version", 1, 2000000000L, &model_version)).ok())
    return Fail(kExitUsage, s);
  std::string created;
  if (!(s = trainer::ResolveCreatedTime(args.Get("--created"), &created)).ok())
    return Fail(kExitUsage, s);

  Dataset data;
  if (!(s = trainer::LoadDataset(data_path, &data)).ok()) return Fail(kExitUsage, s);

  std::string folds_path = args.Get("--folds");
  if (folds_path.empty() && !args.Has("--no-cv")) {
    size_t slash = data_path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "" : data_path.substr(0, slash + 1);
    std::string sibling = dir + "cv_folds.csv";
    struct stat st;
    if (stat(sibling.c_str(), &st) == 0) folds_path = sibling;
  }
  CvResult cv;
  bool have_cv = false;
  if (!folds_path.empty()) {
    std::vector<CvSplit> splits;
    if (!(s = LoadFolds(folds_path, data.table.rows, &splits)).ok()) return Fail(kExitUsage, s);
    std::fprintf(stderr, "cross-validating on %zu splits of %s ...\n", splits.size(),
                 folds_path.c_str());
    s = trainer::CrossValidate(data, splits, params, &cv);
    if (!s.ok()) return Fail(kExitFailed, s);
    have_cv = true;
  } else {
    std::fprintf(stderr, "no folds file: the bundle and card carry no cross-validated metrics\n");
  }

  ModelMetrics metrics;
  if (have_cv) metrics = trainer::SummarizeForBundle(cv);
  Model model;
  trainer::TrainSummary summary;
  s = trainer::TrainModel(data, params, created, have_cv ? &metrics : nullptr, &model, &summary);
  if (!s.ok()) return Fail(kExitFailed, s);
  model.model_version = model_version;
  if (args.Has("--name")) model.name = args.Get("--name");

  std::vector<uint8_t> bundle = WriteBundle(model);
  if (!(s = WriteFileBytes(out_path, bundle.data(), bundle.size(), false)).ok())
    return Fail(kExitUsage, s);
  if (args.Has("--card")) {
    std::string card =
        trainer::RenderModelCard(model, data, params, summary, have_cv ? &cv : nullptr);
    if (!(s = WriteFileText(args.Get("--card"), card)).ok()) return Fail(kExitUsage, s);
  }
  std::printf("wrote %s: %zu bytes, %zu trees, temperature %.4f, sha256 %s\n", out_path.c_str(),
              bundle.size(), model.trees.size(), model.temperature,
              BundleContentHash(bundle.data(), bundle.size()).c_str());
  std::printf("trained on %zu rows (%zu exact duplicates removed) in %.1f s", summary.training_rows,
              summary.duplicates_removed, summary.seconds);
  if (have_cv) {
    std::printf("; cv (%d splits, %.1f s): accuracy %.4f, macro-F1 %.4f, log loss %.4f",
                metrics.splits, cv.seconds, metrics.accuracy, metrics.macro_f1, metrics.log_loss);
  }
  std::printf("\n");
  return kExitOk;
}

int CrossValidateVerb(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--data", "--folds", "--predictions"};
  spec.switches = {"--quiet"};
  AddParamOptions(&spec);
  Args args;
  Status s = args.Parse("cv", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model cv --data CSV --folds CSV [--predictions OUT.csv] [--quiet]\n"
        "Cross-validates on the published folds: per split, trains on the training rows\n"
        "(exact duplicates and rows identical to a test row removed), fits the temperature\n"
        "on inner out-of-fold margins, and scores ALL published test rows. Prints per-split\n"
        "and mean ± std accuracy, macro-F1, balanced accuracy, per-class recall, log loss,\n"
        "Brier score and top-label ECE (15 bins). --predictions writes\n"
        "repeat,fold,row,p_normal,p_suspect,p_pathological (row = 0-based data row).\n%s",
        kParamHelp);
    return kExitOk;
  }
  std::string data_path, folds_path;
  if (!(s = args.Require("--data", &data_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--folds", &folds_path)).ok()) return Fail(kExitUsage, s);
  TrainParams params;
  if (!(s = ReadParams(args, &params)).ok()) return Fail(kExitUsage, s);
  Dataset data;
  if (!(s = trainer::LoadDataset(data_path, &data)).ok()) return Fail(kExitUsage, s);
  std::vector<CvSplit> splits;
  if (!(s = LoadFolds(folds_path, data.table.rows, &splits)).ok()) return Fail(kExitUsage, s);
  CvResult cv;
  const bool quiet = args.Has("--quiet");
  s = trainer::CrossValidate(data, splits, params, &cv, [quiet](const CvSplitResult& r) {
    if (!quiet) std::fprintf(stderr, "  split repeat %d fold %d done\n", r.repeat, r.fold);
  });
  if (!s.ok()) return Fail(kExitFailed, s);
  std::printf("params %s\n\n", params.ToJson().c_str());
  PrintCvTable(cv, stdout);
  std::printf("\n%zu splits in %.1f s\n", cv.splits.size(), cv.seconds);
  if (args.Has("--predictions")) {
    if (!(s = WriteFileText(args.Get("--predictions"), PredictionsCsv(cv))).ok())
      return Fail(kExitUsage, s);
  }
  return kExitOk;
}

// 1-based column of each feature in the input's header (0 if not found).
std::vector<int> FeatureColumns(const std::string& text) {
  std::vector<int> columns(kNumFeatures, 0);
  size_t end = text.find('\n');
  std::string header = text.substr(0, end == std::string::npos ? text.size() : end);
  if (header.compare(0, 3, "\xEF\xBB\xBF") == 0) header.erase(0, 3);
  int column = 1;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string::npos) comma = header.size();
    std::string cell = header.substr(pos, comma - pos);
    while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
    while (!cell.empty() && cell.front() == ' ') cell.erase(0, 1);
    if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"')
      cell = cell.substr(1, cell.size() - 2);
    int feature = FeatureIndex(cell);
    if (feature >= 0 && columns[feature] == 0) columns[feature] = column;
    ++column;
    pos = comma + 1;
  }
  return columns;
}

int Predict(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--model", "--input", "--output"};
  spec.switches = {"--explain"};
  Args args;
  Status s = args.Parse("predict", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model predict --model BUNDLE --input CSV [--output CSV] [--explain]\n"
        "Classifies every row of CSV (columns by dataset name or key, any order; a\n"
        "fetal_health column is ignored). Output (stdout unless --output):\n"
        "  row,class,p_normal,p_suspect,p_pathological[,contrib_<feature>...,contrib_bias],\n"
        "  ood_distance,ood_flag,out_of_range,figo_class,figo_flags\n"
        "row = 0-based data row; probabilities are temperature-calibrated; with --explain the\n"
        "TreeSHAP contributions to the PREDICTED class's margin (log-odds, before temperature;\n"
        "they sum to that margin); out_of_range and figo_flags are ';'-separated.\n"
        "Rows that fail validation are reported on stderr as `line L, column C (feature): reason`\n"
        "and skipped. Exit 0 all rows classified, 1 some rows failed, 2 usage/IO error.\n");
    return kExitOk;
  }
  std::string model_path, input_path;
  if (!(s = args.Require("--model", &model_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--input", &input_path)).ok()) return Fail(kExitUsage, s);
  std::string bundle_bytes;
  Model model;
  if (!(s = LoadBundle(model_path, &bundle_bytes, &model)).ok()) return Fail(kExitUsage, s);
  std::unique_ptr<Evaluator> evaluator;
  if (!(s = Evaluator::Create(model, &evaluator)).ok()) return Fail(kExitUsage, s);
  std::unique_ptr<Explainer> explainer;
  const bool explain = args.Has("--explain");
  if (explain && !(s = Explainer::Create(model, &explainer)).ok()) return Fail(kExitUsage, s);

  std::string text;
  if (!(s = trainer::ReadFileBytes(input_path, &text)).ok()) return Fail(kExitUsage, s);
  ExamTable table;
  s = ParseExamCsv(text, CsvOptions(), &table);
  if (!s.ok()) {
    return Fail(kExitUsage, input_path + (s.field().empty() ? "" : " (" + s.field() + ")") + ": " +
                                s.message());
  }
  std::vector<int> columns = FeatureColumns(text);

  // Row-level problems, by line: CSV errors first, then validation findings.
  std::map<size_t, std::vector<std::string>> problems;
  for (const CsvRowError& e : table.errors) {
    std::string where = "line " + std::to_string(e.line);
    if (e.column > 0) where += ", column " + std::to_string(e.column);
    if (!e.field.empty()) where += " (" + e.field + ")";
    problems[e.line].push_back(where + ": " + e.message);
  }

  const auto& schema = FeatureSchema();
  std::string out = "row,class,p_normal,p_suspect,p_pathological";
  if (explain) {
    for (const FeatureSpec& f : schema) out += ",contrib_" + std::string(f.key);
    out += ",contrib_bias";
  }
  out += ",ood_distance,ood_flag,out_of_range,figo_class,figo_flags\n";
  const char* figo_names[] = {"Normal", "Suspicious", "Pathological"};
  char buf[128];
  size_t classified = 0;
  std::vector<float> contributions(kNumClasses * kContributionsPerClass);
  for (size_t i = 0; i < table.rows; ++i) {
    const float* x = &table.features[i * kNumFeatures];
    const size_t line = table.lines[i];
    std::vector<Finding> findings = ValidateExam(x, &model.training_range);
    if (!IsAcceptable(findings)) {
      for (const Finding& f : findings) {
        if (f.severity != Severity::kError) continue;
        std::string where = "line " + std::to_string(line);
        if (f.feature >= 0) {
          if (columns[f.feature] > 0) where += ", column " + std::to_string(columns[f.feature]);
          where += " (" + std::string(schema[f.feature].key) + ")";
        }
        problems[line].push_back(where + ": " + f.message);
      }
      continue;
    }
    float p[kNumClasses];
    evaluator->Predict(x, p);
    int cls = ArgMax(p);
    std::snprintf(buf, sizeof buf, "%zu,%s,%.6f,%.6f,%.6f", line - 2,
                  std::string(kClassNames[cls]).c_str(), p[0], p[1], p[2]);
    out += buf;
    if (explain) {
      explainer->Explain(x, contributions.data());
      for (int k = 0; k < kContributionsPerClass; ++k) {
        std::snprintf(buf, sizeof buf, ",%.6f", contributions[cls * kContributionsPerClass + k]);
        out += buf;
      }
    }
    OodResult ood = CheckOod(model, x);
    std::string range;
    for (size_t k = 0; k < ood.out_of_range.size(); ++k)
      range += (k ? ";" : "") + std::string(schema[ood.out_of_range[k]].key);
    FigoResult figo = EvaluateFigo(x);
    std::string flags;
    for (size_t k = 0; k < figo.flags.size(); ++k) flags += (k ? ";" : "") + figo.flags[k].id;
    std::snprintf(buf, sizeof buf, ",%.4f,%d,", ood.distance, ood.out_of_distribution ? 1 : 0);
    out += buf + range + "," + figo_names[FigoClassIndex(figo.figo_class)] + "," + flags + "\n";
    ++classified;
  }
  size_t failed_rows = problems.size();
  for (const auto& [line, messages] : problems)
    for (const std::string& m : messages) std::fprintf(stderr, "%s: %s\n", input_path.c_str(), m.c_str());

  if (args.Has("--output")) {
    if (!(s = WriteFileText(args.Get("--output"), out)).ok()) return Fail(kExitUsage, s);
  } else {
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  if (failed_rows > 0) {
    std::fprintf(stderr, "fetal-model predict: %zu rows classified, %zu rows failed\n",
                 classified, failed_rows);
    return kExitFailed;
  }
  return kExitOk;
}

int ImportXgboost(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--xgboost", "--data", "--out", "--created", "--model-version", "--name"};
  Args args;
  Status s = args.Parse("import-xgboost", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model import-xgboost --xgboost MODEL.json --data CSV --out BUNDLE\n"
        "                                  [--created ISO8601] [--model-version N] [--name NAME]\n"
        "Wraps an XGBoost 1.7 JSON model (multi:softprob, 3 classes) into a bundle. CSV is the\n"
        "data it was trained on: it gives the OOD reference, training ranges and data hash.\n"
        "The temperature is 1 (raw XGBoost probabilities) and no metrics are recorded.\n");
    return kExitOk;
  }
  std::string xgb_path, data_path, out_path;
  if (!(s = args.Require("--xgboost", &xgb_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--data", &data_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--out", &out_path)).ok()) return Fail(kExitUsage, s);
  long model_version = 1;
  if (!(s = args.GetInt("--model-version", 1, 2000000000L, &model_version)).ok())
    return Fail(kExitUsage, s);
  std::string created;
  if (!(s = trainer::ResolveCreatedTime(args.Get("--created"), &created)).ok())
    return Fail(kExitUsage, s);
  std::string json;
  if (!(s = trainer::ReadFileBytes(xgb_path, &json)).ok()) return Fail(kExitUsage, s);
  Dataset data;
  if (!(s = trainer::LoadDataset(data_path, &data)).ok()) return Fail(kExitUsage, s);

  Model model;
  if (!(s = ImportXgboostJson(json, &model)).ok())
    return Fail(kExitUsage, xgb_path + ": " + s.message());
  std::vector<size_t> rows = trainer::DeduplicateRows(data.table, trainer::AllRows(data.table));
  std::vector<float> features = trainer::GatherFeatures(data.table, rows);
  if (!(s = FitOodReference(features.data(), rows.size(), 0.99, &model)).ok())
    return Fail(kExitFailed, s);
  model.created = created;
  model.model_version = model_version;
  if (args.Has("--name")) model.name = args.Get("--name");
  model.training_data_sha256 = data.sha256;
  model.figo_ruleset = kFigoRuleSetVersion;
  model.source = "xgboost-import";
  model.params_json = "{}";
  model.temperature = 1.0;
  if (!(s = CheckModel(model)).ok()) return Fail(kExitFailed, xgb_path + ": " + s.message());
  std::vector<uint8_t> bundle = WriteBundle(model);
  if (!(s = WriteFileBytes(out_path, bundle.data(), bundle.size(), false)).ok())
    return Fail(kExitUsage, s);
  std::printf("wrote %s: %zu bytes, %zu trees, sha256 %s\n", out_path.c_str(), bundle.size(),
              model.trees.size(), BundleContentHash(bundle.data(), bundle.size()).c_str());
  return kExitOk;
}

int Inspect(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.switches = {"--json"};
  spec.min_positional = 1;
  spec.max_positional = 1;
  Args args;
  Status s = args.Parse("inspect", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf("usage: fetal-model inspect [--json] BUNDLE\n"
                "Prints the bundle's metadata (version, hash, creation time, data hash, trees,\n"
                "temperature, metrics, OOD threshold, training ranges) after verifying its\n"
                "content hash. --json prints one JSON object instead.\n");
    return kExitOk;
  }
  const std::string path = args.positional()[0];
  std::string bytes;
  Model model;
  if (!(s = LoadBundle(path, &bytes, &model)).ok()) return Fail(kExitUsage, s);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t nodes = 0;
  int depth = 0;
  for (const Tree& t : model.trees) {
    nodes += t.size();
    depth = std::max(depth, TreeDepth(t));
  }
  const auto& schema = FeatureSchema();
  nlohmann::json j;
  j["file"] = path;
  j["bytes"] = bytes.size();
  j["content_sha256"] = BundleContentHash(data, bytes.size());
  j["format_version"] = model.format_version;
  j["model_version"] = model.model_version;
  j["name"] = model.name;
  j["created"] = model.created;
  j["source"] = model.source;
  j["training_data_sha256"] = model.training_data_sha256;
  j["figo_ruleset"] = model.figo_ruleset;
  j["params"] = nlohmann::json::parse(model.params_json, nullptr, false);
  if (j["params"].is_discarded()) j["params"] = model.params_json;
  j["trees"] = model.trees.size();
  j["nodes"] = nodes;
  j["max_depth"] = depth;
  j["base_score"] = model.base_score;
  j["temperature"] = model.temperature;
  j["metrics"] = {{"splits", model.metrics.splits},
                  {"accuracy", model.metrics.accuracy},
                  {"macro_f1", model.metrics.macro_f1},
                  {"balanced_accuracy", model.metrics.balanced_accuracy},
                  {"recall", model.metrics.recall},
                  {"log_loss", model.metrics.log_loss},
                  {"brier", model.metrics.brier},
                  {"ece", model.metrics.ece}};
  j["ood"] = {{"threshold", model.ood.threshold}, {"quantile", model.ood.threshold_quantile}};
  nlohmann::json ranges = nlohmann::json::object();
  for (int f = 0; f < kNumFeatures; ++f) {
    ranges[std::string(schema[f].key)] = {model.training_range.min[f],
                                          model.training_range.max[f]};
  }
  j["training_range"] = ranges;
  if (args.Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("bundle          %s (%zu bytes)\n", path.c_str(), bytes.size());
  std::printf("content sha256  %s\n", j["content_sha256"].get<std::string>().c_str());
  std::printf("format          %d\n", model.format_version);
  std::printf("model           %s v%" PRId64 "\n", model.name.c_str(), model.model_version);
  std::printf("created         %s\n", model.created.c_str());
  std::printf("source          %s\n", model.source.c_str());
  std::printf("training data   sha256 %s\n", model.training_data_sha256.c_str());
  std::printf("FIGO rule set   %s\n", model.figo_ruleset.c_str());
  std::printf("trees           %zu (%zu nodes, max depth %d)\n", model.trees.size(), nodes, depth);
  std::printf("base score      %g %g %g\n", model.base_score[0], model.base_score[1],
              model.base_score[2]);
  std::printf("temperature     %.4f\n", model.temperature);
  std::printf("parameters      %s\n", model.params_json.c_str());
  if (model.metrics.splits > 0) {
    const ModelMetrics& m = model.metrics;
    std::printf("cv metrics      mean of %d splits: accuracy %.4f, macro-F1 %.4f, balanced "
                "accuracy %.4f,\n                recall N/S/P %.4f/%.4f/%.4f, log loss %.4f, "
                "Brier %.4f, ECE %.4f\n",
                m.splits, m.accuracy, m.macro_f1, m.balanced_accuracy, m.recall[0], m.recall[1],
                m.recall[2], m.log_loss, m.brier, m.ece);
  } else {
    std::printf("cv metrics      none recorded\n");
  }
  std::printf("OOD threshold   %.4f (%.1fth percentile of training distances)\n",
              model.ood.threshold, model.ood.threshold_quantile * 100);
  std::printf("training range:\n");
  for (int f = 0; f < kNumFeatures; ++f) {
    std::printf("  %-56s %10g .. %-10g %s\n", std::string(schema[f].key).c_str(),
                model.training_range.min[f], model.training_range.max[f],
                std::string(schema[f].unit).c_str());
  }
  return kExitOk;
}

int Sign(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--key", "--out"};
  spec.min_positional = 1;
  spec.max_positional = 1;
  Args args;
  Status s = args.Parse("sign", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf("usage: fetal-model sign --key PRIVATE.pem [--out SIG] BUNDLE\n"
                "Writes a detached ECDSA P-256/SHA-256 signature (base64 of r||s) of BUNDLE to\n"
                "BUNDLE.sig (or SIG). The bundle is checked first, so a corrupt one is not signed.\n");
    return kExitOk;
  }
  std::string key_path;
  if (!(s = args.Require("--key", &key_path)).ok()) return Fail(kExitUsage, s);
  const std::string bundle_path = args.positional()[0];
  std::string key, bytes;
  Model model;
  if (!(s = trainer::ReadFileBytes(key_path, &key)).ok()) return Fail(kExitUsage, s);
  if (!(s = LoadBundle(bundle_path, &bytes, &model)).ok()) return Fail(kExitUsage, s);
  std::string signature;
  s = SignBundle(key, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &signature);
  if (!s.ok()) return Fail(kExitUsage, key_path + ": " + s.message());
  std::string out_path = args.Get("--out", bundle_path + ".sig");
  if (!(s = WriteFileText(out_path, signature + "\n")).ok()) return Fail(kExitUsage, s);
  std::printf("wrote %s\n", out_path.c_str());
  return kExitOk;
}

int Verify(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--pubkey", "--sig"};
  spec.min_positional = 1;
  spec.max_positional = 1;
  Args args;
  Status s = args.Parse("verify", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf("usage: fetal-model verify --pubkey PUBLIC.pem [--sig SIG] BUNDLE\n"
                "Checks BUNDLE's detached signature (default BUNDLE.sig) and its content hash.\n"
                "Exit 0 valid, 1 the signature does not verify, 2 usage or unreadable input.\n");
    return kExitOk;
  }
  std::string key_path;
  if (!(s = args.Require("--pubkey", &key_path)).ok()) return Fail(kExitUsage, s);
  const std::string bundle_path = args.positional()[0];
  const std::string sig_path = args.Get("--sig", bundle_path + ".sig");
  std::string key, bytes, signature;
  if (!(s = trainer::ReadFileBytes(key_path, &key)).ok()) return Fail(kExitUsage, s);
  if (!(s = trainer::ReadFileBytes(bundle_path, &bytes)).ok()) return Fail(kExitUsage, s);
  if (!(s = trainer::ReadFileBytes(sig_path, &signature)).ok()) return Fail(kExitUsage, s);
  while (!signature.empty() && (signature.back() == '\n' || signature.back() == '\r' ||
                                signature.back() == ' '))
    signature.pop_back();
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  s = VerifyBundle(key, data, bytes.size(), signature);
  if (s.code() == Status::Code::kInvalidArgument) {  // a malformed key or signature file
    return Fail(kExitUsage, "cannot check " + sig_path + " with " + key_path + ": " + s.message());
  }
  if (!s.ok()) {
    return Fail(kExitFailed, "signature " + sig_path + " does NOT verify for " + bundle_path +
                                 ": " + s.message());
  }
  Model model;
  s = ReadBundle(data, bytes.size(), &model);
  if (!s.ok()) {
    return Fail(kExitFailed, "signature verifies but " + bundle_path +
                                 " is not a valid bundle: " + s.message());
  }
  std::printf("OK: %s v%" PRId64 " (sha256 %s) is signed by %s\n", bundle_path.c_str(),
              model.model_version, BundleContentHash(data, bytes.size()).c_str(),
              key_path.c_str());
  return kExitOk;
}

int Keygen(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--private", "--public"};
  spec.switches = {"--force"};
  Args args;
  Status s = args.Parse("keygen", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf("usage: fetal-model keygen --private PRIVATE.pem --public PUBLIC.pem [--force]\n"
                "Generates a P-256 signing key pair (private PKCS#8, mode 0600; public SPKI).\n"
                "Existing files are not overwritten unless --force is given.\n");
    return kExitOk;
  }
  std::string private_path, public_path;
  if (!(s = args.Require("--private", &private_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--public", &public_path)).ok()) return Fail(kExitUsage, s);
  struct stat st;
  if (!args.Has("--force")) {
    for (const std::string& p : {private_path, public_path}) {
      if (stat(p.c_str(), &st) == 0)
        return Fail(kExitUsage, p + " already exists (use --force to overwrite)");
    }
  }
  std::string private_pem, public_pem;
  if (!(s = GenerateSigningKey(&private_pem, &public_pem)).ok()) return Fail(kExitFailed, s);
  if (!(s = WriteFileText(private_path, private_pem, true)).ok()) return Fail(kExitUsage, s);
  if (!(s = WriteFileText(public_path, public_pem)).ok()) return Fail(kExitUsage, s);
  std::printf("wrote %s (private, keep secret) and %s\n", private_path.c_str(),
              public_path.c_str());
  return kExitOk;
}

int TuneVerb(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--data",       "--folds",      "--stage",
                     "--repeat",     "--inner-folds", "--max-rounds", "--max-bundle-bytes", "--out"};
  Args args;
  Status s = args.Parse("tune", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model tune --data CSV --folds CSV [--stage 1|2|3] [--repeat K]\n"
        "                        [--inner-folds K] [--max-rounds N] [--max-bundle-bytes N]\n"
        "                        [--out RESULTS.csv]\n"
        "The offline hyperparameter search behind TrainParams' defaults (docs/training.md).\n"
        "For every grid point of the stage (default 3, which gave the defaults): inner\n"
        "stratified K-fold CV on each outer TRAINING part of the folds' repeat K (default 0);\n"
        "rounds by early stopping on the inner log loss (stages 2-3: after temperature\n"
        "scaling, at most 300 rounds); the highest inner macro-F1 among candidates within\n"
        "0.01 of the best inner log loss wins.\n"
        "--max-bundle-bytes N stops early only at round counts whose full-data bundle fits N\n"
        "bytes (210000 ~ 150 KB gzipped; stage 3's default); sizes are printed either way.\n"
        "Outer test rows are never used. Takes 5-10 minutes of one core a stage.\n");
    return kExitOk;
  }
  std::string data_path, folds_path;
  if (!(s = args.Require("--data", &data_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--folds", &folds_path)).ok()) return Fail(kExitUsage, s);
  long stage = 3;
  if (!(s = args.GetInt("--stage", 1, 3, &stage)).ok()) return Fail(kExitUsage, s);
  trainer::TuneOptions options = trainer::TuneOptions::ForStage(static_cast<int>(stage));
  long repeat = options.repeat, inner = options.inner_folds, max_rounds = options.max_rounds;
  if (!(s = args.GetInt("--repeat", 0, 1000, &repeat)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.GetInt("--inner-folds", 2, 20, &inner)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.GetInt("--max-rounds", options.min_rounds, 5000, &max_rounds)).ok())
    return Fail(kExitUsage, s);
  long max_bundle_bytes = static_cast<long>(options.max_bundle_bytes);
  if (!(s = args.GetInt("--max-bundle-bytes", 0, 1000000000L, &max_bundle_bytes)).ok())
    return Fail(kExitUsage, s);
  options.max_bundle_bytes = static_cast<size_t>(max_bundle_bytes);
  options.repeat = static_cast<int>(repeat);
  options.inner_folds = static_cast<int>(inner);
  options.max_rounds = static_cast<int>(max_rounds);
  Dataset data;
  if (!(s = trainer::LoadDataset(data_path, &data)).ok()) return Fail(kExitUsage, s);
  std::vector<CvSplit> splits;
  if (!(s = LoadFolds(folds_path, data.table.rows, &splits)).ok()) return Fail(kExitUsage, s);
  std::vector<trainer::TuneOutcome> outcomes;
  std::string csv =
      "max_depth,eta,min_child_weight,gamma,subsample,colsample_bytree,class_weight,rounds,log_loss,"
      "raw_log_loss,temperature,macro_f1,accuracy,suspect_recall,pathological_recall,"
      "bundle_bytes\n";
  auto describe = [](const trainer::TuneOutcome& o) {
    char buf[320];
    const TrainParams& p = o.params;
    std::snprintf(buf, sizeof buf,
                  "%d,%g,%g,%g,%g,%g,%g;%g;%g,%d,%.4f,%.4f,%.3f,%.4f,%.4f,%.4f,%.4f,%zu",
                  p.max_depth, p.eta, p.min_child_weight, p.gamma, p.subsample,
                  p.colsample_bytree, p.class_weight[0], p.class_weight[1], p.class_weight[2],
                  p.rounds, o.log_loss, o.raw_log_loss, o.temperature, o.macro_f1, o.accuracy,
                  o.suspect_recall, o.pathological_recall, o.bundle_bytes);
    return std::string(buf);
  };
  std::printf("%s\n", csv.substr(0, csv.size() - 1).c_str());
  std::fflush(stdout);
  s = trainer::Tune(data, splits, trainer::TuneGrid(static_cast<int>(stage)), options, &outcomes,
                    [&](const trainer::TuneOutcome& o) {
                      std::printf("%s\n", describe(o).c_str());
                      std::fflush(stdout);
                    });
  if (!s.ok()) return Fail(kExitFailed, s);
  for (const auto& o : outcomes) csv += describe(o) + "\n";
  size_t best = trainer::SelectBest(outcomes, options);
  if (best == outcomes.size()) return Fail(kExitFailed, "no candidate fits the bundle size budget");
  std::printf("\nchosen: %s\nparams %s\n", describe(outcomes[best]).c_str(),
              outcomes[best].params.ToJson().c_str());
  if (args.Has("--out")) {
    if (!(s = WriteFileText(args.Get("--out"), csv)).ok()) return Fail(kExitUsage, s);
  }
  return kExitOk;
}

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: fetal-model <verb> [options]   (fetal-model <verb> --help for details)\n"
               "  train           --data CSV --out BUNDLE [--card MD]   train the model\n"
               "  cv              --data CSV --folds CSV [--predictions OUT.csv]\n"
               "  predict         --model BUNDLE --input CSV [--output CSV] [--explain]\n"
               "  import-xgboost  --xgboost MODEL.json --data CSV --out BUNDLE\n"
               "  inspect         BUNDLE [--json]\n"
               "  sign            --key PRIVATE.pem BUNDLE         writes BUNDLE.sig\n"
               "  verify          --pubkey PUBLIC.pem BUNDLE       reads BUNDLE.sig\n"
               "  keygen          --private PRIVATE.pem --public PUBLIC.pem\n"
               "  tune            --data CSV --folds CSV           hyperparameter search\n");
}

}  // namespace
}  // namespace cli
}  // namespace fetal

int main(int argc, char** argv) {
  using namespace fetal::cli;
  if (argc < 2) {
    Usage(stderr);
    return kExitUsage;
  }
  std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    Usage(stdout);
    return kExitOk;
  }
  g_verb = verb;
  std::vector<std::string> args(argv + 2, argv + argc);
  if (verb == "train") return Train(args);
  if (verb == "cv") return CrossValidateVerb(args);
  if (verb == "predict") return Predict(args);
  if (verb == "import-xgboost") return ImportXgboost(args);
  if (verb == "inspect") return Inspect(args);
  if (verb == "sign") return Sign(args);
  if (verb == "verify") return Verify(args);
  if (verb == "keygen") return Keygen(args);
  if (verb == "tune") return TuneVerb(args);
  std::fprintf(stderr, "fetal-model: unknown verb \"%s\"\n", verb.c_str());
  Usage(stderr);
  return kExitUsage;
}
