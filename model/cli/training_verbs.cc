// fetal-model train, cv and folds: the training parameters and search they share, and the
// folds files.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli_args.h"
#include "cli_io.h"
#include "cv_report.h"
#include "fetal/bundle.h"
#include "fetal/sha256.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/metrics.h"
#include "fetal/trainer/model_card.h"
#include "fetal/trainer/search.h"
#include "fetal/trainer/trainer.h"
#include "verbs.h"

namespace fetal {
namespace cli {
namespace {

using trainer::Calibrator;
using trainer::CvResult;
using trainer::CvSplit;
using trainer::CvSplitResult;
using trainer::Dataset;
using trainer::RecipeLabel;
using trainer::SearchSpace;
using trainer::TrainParams;

// ---- training parameters shared by train and cv ----

const char* const kParamOptions[] = {"--max-depth",   "--eta",
                                     "--rounds",      "--min-child-weight",
                                     "--subsample",   "--colsample-bytree",
                                     "--lambda",      "--class-weight",
                                     "--inputs",      "--calibrator",
                                     "--inner-folds", "--set-level",
                                     "--search"};

const char* kParamHelp =
    "the recipe search (docs/training.md):\n"
    "  --search default|tiny|fixed   default: the shipped search (inputs, class weights, tree\n"
    "      shape, rounds, calibrator chosen by inner cross-validation); fixed: exactly the\n"
    "      parameters below; tiny: the same code on a toy grid (tests)\n"
    "parameters (the base the search varies; with --search fixed, the model):\n"
    "  --max-depth N  --eta X  --rounds N  --min-child-weight X  --subsample X\n"
    "  --colsample-bytree X  --lambda X  --class-weight W_NORMAL,W_SUSPECT,W_PATHOLOGICAL\n"
    "  --inputs none|FEATURE-REFERENCE[,...]   e.g. histogram_mean-baseline_value\n"
    "  --calibrator temperature|vector  --inner-folds K  --set-level L (conformal, default 0.95)\n";

void AddParamOptions(OptionSpec* spec) {
  for (const char* name : kParamOptions) spec->with_value.insert(name);
}

// "none" or "key-key,key-key" (feature keys or dataset names) -> input differences.
Status ParseInputs(const std::string& text, std::vector<InputDifference>* out) {
  out->clear();
  if (text == "none") return Status::Ok();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t dash = item.find('-');
    int input = dash == std::string::npos ? -1 : FeatureIndex(item.substr(0, dash));
    int reference = dash == std::string::npos ? -1 : FeatureIndex(item.substr(dash + 1));
    if (input < 0 || reference < 0) {
      return Status::InvalidArgument(
          "--inputs must be none or FEATURE-REFERENCE pairs of feature keys like "
          "histogram_mean-baseline_value, got \"" +
              item + "\"",
          "--inputs");
    }
    out->push_back({input, reference});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return CheckInputDifferences(*out).ok()
             ? Status::Ok()
             : Status::InvalidArgument("--inputs: " + CheckInputDifferences(*out).message(),
                                       "--inputs");
}

Status ReadParams(const Args& args, TrainParams* p, SearchSpace* space) {
  long depth = p->max_depth, rounds = p->rounds, folds = p->inner_folds;
  Status s;
  if (!(s = args.GetInt("--max-depth", 1, 16, &depth)).ok()) return s;
  if (!(s = args.GetInt("--rounds", 1, 5000, &rounds)).ok()) return s;
  if (!(s = args.GetInt("--inner-folds", 2, 20, &folds)).ok()) return s;
  if (!(s = args.GetDouble("--eta", 1e-4, 1, &p->eta)).ok()) return s;
  if (!(s = args.GetDouble("--min-child-weight", 0, 1e6, &p->min_child_weight)).ok()) return s;
  if (!(s = args.GetDouble("--subsample", 0.01, 1, &p->subsample)).ok()) return s;
  if (!(s = args.GetDouble("--colsample-bytree", 0.01, 1, &p->colsample_bytree)).ok()) return s;
  if (!(s = args.GetDouble("--lambda", 0, 1e6, &p->reg_lambda)).ok()) return s;
  if (!(s = args.GetDouble("--set-level", 0.5, 0.999, &p->set_level)).ok()) return s;
  p->max_depth = static_cast<int>(depth);
  p->rounds = static_cast<int>(rounds);
  p->inner_folds = static_cast<int>(folds);
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
  if (args.Has("--inputs") && !(s = ParseInputs(args.Get("--inputs"), &p->input_differences)).ok())
    return s;
  if (args.Has("--calibrator") && !ParseCalibrator(args.Get("--calibrator"), &p->calibrator)) {
    return Status::InvalidArgument("--calibrator must be temperature or vector, got \"" +
                                       args.Get("--calibrator") + "\"",
                                   "--calibrator");
  }
  if (!(s = p->Check()).ok()) return s;
  const std::string name = args.Get("--search", "default");
  if (!SearchSpace::Named(name, *p, space)) {
    return Status::InvalidArgument("--search must be default, tiny or fixed, got \"" + name + "\"",
                                   "--search");
  }
  return Status::Ok();
}

// `sha256` (may be null) receives the hex SHA-256 of the file's bytes.
Status LoadFolds(const std::string& path, size_t rows, std::vector<CvSplit>* splits,
                 std::string* sha256 = nullptr) {
  std::string text;
  Status s = trainer::ReadFileBytes(path, &text);
  if (!s.ok()) return s;
  if (sha256 != nullptr) *sha256 = Sha256Hex(text.data(), text.size());
  s = trainer::ParseFolds(text, rows, splits);
  if (!s.ok()) {
    return Status::InvalidArgument(path + (s.field().empty() ? "" : " " + s.field()) + ": " +
                                   s.message());
  }
  return Status::Ok();
}

}  // namespace

int Train(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--data",    "--out",           "--card", "--folds",
                     "--created", "--model-version", "--name", "--jobs"};
  spec.switches = {"--no-cv"};
  AddParamOptions(&spec);
  Args args;
  Status s = args.Parse("train", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model train --data CSV --out BUNDLE [--card MD] [--folds CSV | --no-cv]\n"
        "                         [--jobs N] [--created ISO8601] [--model-version N] [--name "
        "NAME]\n"
        "Runs the recipe search by inner cross-validation on every row of CSV (exact duplicates\n"
        "removed), trains the chosen recipe, fits its calibration, conformal prediction sets\n"
        "and OOD reference, and writes the bundle (at most 150 KB gzipped) and, with --card, a\n"
        "markdown model card. The bundle's metrics come from cross-validating the same\n"
        "procedure on the folds (default: cv_folds.csv beside CSV; --no-cv skips it), nested:\n"
        "the search runs again inside every split (--jobs N splits at once). Same input and\n"
        "--created -> identical bytes. --created defaults to $SOURCE_DATE_EPOCH, else now.\n%s",
        kParamHelp);
    return kExitOk;
  }
  std::string data_path, out_path;
  if (!(s = args.Require("--data", &data_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--out", &out_path)).ok()) return Fail(kExitUsage, s);
  if (args.Has("--folds") && args.Has("--no-cv"))
    return Fail(kExitUsage, "--folds and --no-cv cannot be used together");
  TrainParams params;
  SearchSpace space;
  if (!(s = ReadParams(args, &params, &space)).ok()) return Fail(kExitUsage, s);
  long model_version = 1, jobs = 1;
  if (!(s = args.GetInt("--model-version", 1, 2000000000L, &model_version)).ok())
    return Fail(kExitUsage, s);
  if (!(s = args.GetInt("--jobs", 1, 64, &jobs)).ok()) return Fail(kExitUsage, s);
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
    std::string folds_sha256;
    if (!(s = LoadFolds(folds_path, data.table.rows, &splits, &folds_sha256)).ok())
      return Fail(kExitUsage, s);
    std::fprintf(stderr, "cross-validating the procedure (search \"%s\") on %zu splits of %s ...\n",
                 space.name.c_str(), splits.size(), folds_path.c_str());
    s = trainer::CrossValidate(data, splits, space, params, &cv, {}, static_cast<int>(jobs));
    if (!s.ok()) return Fail(kExitFailed, s);
    cv.folds_sha256 = folds_sha256;
    have_cv = true;
  } else {
    std::fprintf(stderr, "no folds file: the bundle and card carry no cross-validated metrics\n");
  }

  ModelMetrics metrics;
  if (have_cv) metrics = trainer::SummarizeForBundle(cv);
  Model model;
  trainer::TrainSummary summary;
  s = trainer::TrainModel(data, space, params, created, have_cv ? &metrics : nullptr, &model,
                          &summary);
  if (!s.ok()) return Fail(kExitFailed, s);
  model.model_version = model_version;
  if (args.Has("--name")) model.name = args.Get("--name");

  std::vector<uint8_t> bundle = WriteBundle(model);
  if (!(s = WriteFileBytes(out_path, bundle.data(), bundle.size(), false)).ok())
    return Fail(kExitUsage, s);
  if (args.Has("--card")) {
    std::string card =
        trainer::RenderModelCard(model, data, space, summary, have_cv ? &cv : nullptr);
    if (!(s = WriteFileText(args.Get("--card"), card)).ok()) return Fail(kExitUsage, s);
  }
  std::printf("wrote %s: %zu bytes (%zu gzipped), %zu trees, sha256 %s\n", out_path.c_str(),
              bundle.size(), summary.fit.bundle_gzip_bytes, model.trees.size(),
              BundleContentHash(bundle.data(), bundle.size()).c_str());
  std::printf("recipe: %s\n", RecipeLabel(summary.fit.params).c_str());
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
  spec.with_value = {"--data", "--folds", "--predictions", "--search-log", "--jobs"};
  spec.switches = {"--quiet"};
  AddParamOptions(&spec);
  Args args;
  Status s = args.Parse("cv", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model cv --data CSV --folds CSV [--predictions OUT.csv]\n"
        "                      [--search-log OUT.csv] [--jobs N] [--quiet]\n"
        "Cross-validates the training procedure on every split of the folds file, nested: per\n"
        "split, the recipe search runs by inner cross-validation on the split's training rows\n"
        "only (exact duplicates and rows identical to a test row removed), the chosen recipe\n"
        "is trained, calibrated and given its conformal sets, and ALL the split's test rows are\n"
        "scored by the model core. Prints per split and as mean ± std: accuracy, macro-F1,\n"
        "balanced accuracy, per-class recall, log loss, Brier score, top-label ECE (15 bins),\n"
        "per-class coverage and size of the prediction sets, and the recipe chosen; then the\n"
        "coverage report. --predictions writes repeat,fold,row,p_normal,p_suspect,\n"
        "p_pathological,set; --search-log every inner candidate's figures. --jobs N runs N\n"
        "splits at once (same results).\n%s",
        kParamHelp);
    return kExitOk;
  }
  std::string data_path, folds_path;
  if (!(s = args.Require("--data", &data_path)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.Require("--folds", &folds_path)).ok()) return Fail(kExitUsage, s);
  TrainParams params;
  SearchSpace space;
  if (!(s = ReadParams(args, &params, &space)).ok()) return Fail(kExitUsage, s);
  long jobs = 1;
  if (!(s = args.GetInt("--jobs", 1, 64, &jobs)).ok()) return Fail(kExitUsage, s);
  Dataset data;
  if (!(s = trainer::LoadDataset(data_path, &data)).ok()) return Fail(kExitUsage, s);
  std::vector<CvSplit> splits;
  if (!(s = LoadFolds(folds_path, data.table.rows, &splits)).ok()) return Fail(kExitUsage, s);
  CvResult cv;
  const bool quiet = args.Has("--quiet");
  s = trainer::CrossValidate(
      data, splits, space, params, &cv,
      [quiet](const CvSplitResult& r) {
        if (!quiet) {
          std::fprintf(stderr, "  split repeat %d fold %d done: %s\n", r.repeat, r.fold,
                       RecipeLabel(r.chosen).c_str());
        }
      },
      static_cast<int>(jobs));
  if (!s.ok()) return Fail(kExitFailed, s);
  std::printf("base params %s\n%s\n", params.ToJson().c_str(), space.Describe().c_str());
  PrintCvReport(cv, params.set_level, stdout);
  std::printf("\n%zu splits in %.1f s\n", cv.splits.size(), cv.seconds);
  if (args.Has("--predictions")) {
    if (!(s = WriteFileText(args.Get("--predictions"), PredictionsCsv(cv))).ok())
      return Fail(kExitUsage, s);
  }
  if (args.Has("--search-log")) {
    if (!(s = WriteFileText(args.Get("--search-log"), SearchLogCsv(cv))).ok())
      return Fail(kExitUsage, s);
  }
  return kExitOk;
}

int FoldsVerb(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--data", "--out", "--seed", "--repeats", "--folds"};
  Args args;
  Status s = args.Parse("folds", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model folds --data CSV --seed N [--repeats R] [--folds K] [--out CSV]\n"
        "Draws a new folds file in the format of model/data/cv_folds.csv: R (default 5) repeats\n"
        "of stratified K-fold (default 5) over the rows of CSV, repeat r shuffled with seed\n"
        "1000 N + r. `fetal-model cv --folds` reads it. Output to stdout unless --out.\n");
    return kExitOk;
  }
  std::string data_path;
  if (!(s = args.Require("--data", &data_path)).ok()) return Fail(kExitUsage, s);
  if (!args.Has("--seed")) return Fail(kExitUsage, "missing required option --seed");
  long seed = 0, repeats = 5, folds = 5;
  if (!(s = args.GetInt("--seed", 0, 1000000000L, &seed)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.GetInt("--repeats", 1, 100, &repeats)).ok()) return Fail(kExitUsage, s);
  if (!(s = args.GetInt("--folds", 2, 20, &folds)).ok()) return Fail(kExitUsage, s);
  Dataset data;
  if (!(s = trainer::LoadDataset(data_path, &data)).ok()) return Fail(kExitUsage, s);
  const std::string csv = trainer::GenerateFoldsCsv(data.table, static_cast<int>(repeats),
                                                    static_cast<int>(folds), seed);
  if (args.Has("--out")) {
    if (!(s = WriteFileText(args.Get("--out"), csv)).ok()) return Fail(kExitUsage, s);
  } else {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace fetal
