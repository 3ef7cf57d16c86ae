// fetal-model: train, cross-validate, inspect, sign and run Fetal Health model bundles. This
// file holds main(), the verb list and `predict` (classifying a CSV of exams); the other verbs
// are in training_verbs.cc and bundle_verbs.cc.
//
// Exit status: 0 success; 1 the operation ran but failed (signature does not verify, some input
// rows failed validation, training failed); 2 usage error or unreadable/invalid input file.
// Every error is one line on stderr starting with "fetal-model <verb>: ".
#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli_args.h"
#include "cli_io.h"
#include "fetal/classifier.h"
#include "fetal/csv.h"
#include "fetal/figo.h"
#include "fetal/schema.h"
#include "fetal/trainer/dataset.h"
#include "verbs.h"

namespace fetal {
namespace cli {
namespace {

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
        "  row,class,p_normal,p_suspect,p_pathological[,contrib_<input>...,contrib_bias],\n"
        "  ood_distance,ood_flag,out_of_range,figo_class,figo_flags,set,refer_for_review\n"
        "row = 0-based data row; probabilities are calibrated; with --explain the TreeSHAP\n"
        "contributions to the PREDICTED class's margin (log-odds, before temperature; they sum\n"
        "to that margin), one per model input (a feature key, or <feature>_minus_<reference>\n"
        "for an input the model takes relative to another feature); set = the conformal\n"
        "prediction set at the model's level (empty if the model has none); refer_for_review =\n"
        "1 when the set has several classes or the exam is unlike the training data;\n"
        "out_of_range, figo_flags and set are ';'-separated.\n"
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
  std::unique_ptr<Classifier> classifier;
  if (!(s = Classifier::Create(std::move(model), &classifier)).ok()) return Fail(kExitUsage, s);
  ClassifyOptions options;
  options.explain = args.Has("--explain");
  const bool explain = options.explain;

  std::string text;
  if (!(s = trainer::ReadFileBytes(input_path, &text)).ok()) return Fail(kExitUsage, s);
  ExamTable table;
  s = ParseExamCsv(text, CsvOptions(), &table);
  if (!s.ok()) {
    return Fail(kExitUsage, input_path + (s.field().empty() ? "" : " (" + s.field() + ")") + ": " +
                                s.message());
  }
  const std::array<int, kNumFeatures>& columns = table.columns;

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
    for (const std::string& input : InputKeys(classifier->model())) out += ",contrib_" + input;
    out += ",contrib_bias";
  }
  out += ",ood_distance,ood_flag,out_of_range,figo_class,figo_flags,set,refer_for_review\n";
  char buf[128];
  size_t classified = 0;
  Classification c;
  for (size_t i = 0; i < table.rows; ++i) {
    const float* x = &table.features[i * kNumFeatures];
    const size_t line = table.lines[i];
    classifier->Classify(x, options, &c);
    if (!c.classified) {
      for (const Finding& f : c.findings) {
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
    const int cls = c.predicted_class;
    const std::array<float, kNumClasses>& p = c.probabilities;
    std::snprintf(buf, sizeof buf, "%zu,%s,%.6f,%.6f,%.6f", line - 2,
                  std::string(kClassNames[cls]).c_str(), p[0], p[1], p[2]);
    out += buf;
    if (explain) {
      for (int k = 0; k < kContributionsPerClass; ++k) {
        std::snprintf(buf, sizeof buf, ",%.6f", c.contributions[cls * kContributionsPerClass + k]);
        out += buf;
      }
    }
    std::string range;
    for (size_t k = 0; k < c.ood.out_of_range.size(); ++k)
      range += (k ? ";" : "") + std::string(schema[c.ood.out_of_range[k]].key);
    std::string flags;
    for (size_t k = 0; k < c.figo.flags.size(); ++k) flags += (k ? ";" : "") + c.figo.flags[k].id;
    std::snprintf(buf, sizeof buf, ",%.4f,%d,", c.ood.distance, c.ood.out_of_distribution ? 1 : 0);
    out += buf + range + "," + FigoClassName(c.figo.figo_class) + "," + flags + "," +
           SetNames(c.prediction_set) + "," + (c.refer_for_review ? "1" : "0") + "\n";
    ++classified;
  }
  size_t failed_rows = problems.size();
  for (const auto& [line, messages] : problems)
    for (const std::string& m : messages)
      std::fprintf(stderr, "%s: %s\n", input_path.c_str(), m.c_str());

  if (args.Has("--output")) {
    if (!(s = WriteFileText(args.Get("--output"), out)).ok()) return Fail(kExitUsage, s);
  } else {
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  if (failed_rows > 0) {
    std::fprintf(stderr, "fetal-model predict: %zu rows classified, %zu rows failed\n", classified,
                 failed_rows);
    return kExitFailed;
  }
  return kExitOk;
}

void Usage(FILE* out) {
  std::fprintf(
      out,
      "usage: fetal-model <verb> [options]   (fetal-model <verb> --help for details)\n"
      "  train           --data CSV --out BUNDLE [--card MD]   train the model\n"
      "  cv              --data CSV --folds CSV [--predictions OUT.csv]\n"
      "  predict         --model BUNDLE --input CSV [--output CSV] [--explain]\n"
      "  import-xgboost  --xgboost MODEL.json --data CSV --out BUNDLE\n"
      "  inspect         BUNDLE [--json]\n"
      "  sign            --key PRIVATE.pem BUNDLE         writes BUNDLE.sig\n"
      "  verify          --pubkey PUBLIC.pem BUNDLE       reads BUNDLE.sig\n"
      "  keygen          --private PRIVATE.pem --public PUBLIC.pem\n"
      "  release         --key PRIVATE.pem --site S --sequence K --stable B --candidate B\n"
      "                  --out-dir DIR                  sign a staged rollout's manifests\n"
      "  folds           --data CSV --seed N [--out CSV]  draw new cross-validation folds\n");
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
  SetVerb(verb);
  std::vector<std::string> args(argv + 2, argv + argc);
  if (verb == "train") return Train(args);
  if (verb == "cv") return CrossValidateVerb(args);
  if (verb == "predict") return Predict(args);
  if (verb == "import-xgboost") return ImportXgboost(args);
  if (verb == "inspect") return Inspect(args);
  if (verb == "sign") return Sign(args);
  if (verb == "verify") return Verify(args);
  if (verb == "keygen") return Keygen(args);
  if (verb == "release") return Release(args);
  if (verb == "folds") return FoldsVerb(args);
  std::fprintf(stderr, "fetal-model: unknown verb \"%s\"\n", verb.c_str());
  Usage(stderr);
  return kExitUsage;
}
