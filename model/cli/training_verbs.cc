// fetal-model train, cv and tune: the training parameters they share, the published folds, and
// the cross-validation report.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli_args.h"
#include "cli_io.h"
#include "fetal/bundle.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/metrics.h"
#include "fetal/trainer/model_card.h"
#include "fetal/trainer/trainer.h"
#include "fetal/trainer/tune.h"
#include "verbs.h"

namespace fetal {
namespace cli {
namespace {

using trainer::CvResult;
using trainer::CvSplit;
using trainer::CvSplitResult;
using trainer::Dataset;
using trainer::TrainParams;

// ---- training parameters shared by train, cv and tune ----

const char* const kParamOptions[] = {"--max-depth",        "--eta",          "--rounds",
                                     "--min-child-weight", "--subsample",    "--colsample-bytree",
                                     "--lambda",           "--class-weight", "--temperature-folds"};

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
                 m.macro_f1, m.balanced_accuracy, m.recall[0], m.recall[1], m.recall[2], m.log_loss,
                 m.brier, m.ece);
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
               "std", cols[0].std, cols[1].std, cols[2].std, cols[3].std, cols[4].std, cols[5].std,
               cols[6].std, cols[7].std, cols[8].std, cols[9].std);
  std::fprintf(out, "\nmean ± std over %zu splits:\n", cv.splits.size());
  const char* names[] = {"temperature",
                         "accuracy",
                         "macro-F1",
                         "balanced accuracy",
                         "recall Normal",
                         "recall Suspect",
                         "recall Pathological",
                         "log loss",
                         "Brier score",
                         "top-label ECE (15 bins)"};
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
      std::snprintf(buf, sizeof buf, "%d,%d,%zu,%.6f,%.6f,%.6f\n", s.repeat, s.fold, s.test_rows[i],
                    p[0], p[1], p[2]);
      out += buf;
    }
  }
  return out;
}

}  // namespace

int Train(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--data",    "--out",           "--card", "--folds",
                     "--created", "--model-version", "--name"};
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

int TuneVerb(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--data",
                     "--folds",
                     "--stage",
                     "--repeat",
                     "--inner-folds",
                     "--max-rounds",
                     "--max-bundle-bytes",
                     "--out"};
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
      "max_depth,eta,min_child_weight,gamma,subsample,colsample_bytree,class_weight,rounds,log_"
      "loss,"
      "raw_log_loss,temperature,macro_f1,accuracy,suspect_recall,pathological_recall,"
      "bundle_bytes\n";
  auto describe = [](const trainer::TuneOutcome& o) {
    char buf[320];
    const TrainParams& p = o.params;
    std::snprintf(buf, sizeof buf,
                  "%d,%g,%g,%g,%g,%g,%g;%g;%g,%d,%.4f,%.4f,%.3f,%.4f,%.4f,%.4f,%.4f,%zu",
                  p.max_depth, p.eta, p.min_child_weight, p.gamma, p.subsample, p.colsample_bytree,
                  p.class_weight[0], p.class_weight[1], p.class_weight[2], p.rounds, o.log_loss,
                  o.raw_log_loss, o.temperature, o.macro_f1, o.accuracy, o.suspect_recall,
                  o.pathological_recall, o.bundle_bytes);
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

}  // namespace cli
}  // namespace fetal
