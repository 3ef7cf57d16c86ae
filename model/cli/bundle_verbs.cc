// fetal-model import-xgboost, inspect, sign, verify and keygen: making, reading and signing
// model bundles.
#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "cli_io.h"
#include "fetal/bundle.h"
#include "fetal/figo.h"
#include "fetal/ood.h"
#include "fetal/schema.h"
#include "fetal/signature.h"
#include "fetal/trainer/dataset.h"
#include "fetal/trainer/trainer.h"
#include "verbs.h"

namespace fetal {
namespace cli {

using trainer::Dataset;

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
    std::printf(
        "usage: fetal-model inspect [--json] BUNDLE\n"
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
  const auto inputs = InputKeys(model);
  j["inputs"] = inputs;
  j["prediction_sets"] = {{"level", model.conformal.level},
                          {"floor", model.conformal.floor},
                          {"calibration_rows", model.conformal.calibration_rows}};
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
    ranges[std::string(schema[f].key)] = {model.training_range.min[f], model.training_range.max[f]};
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
  std::string relative;
  for (const std::string& input : inputs) {
    if (input.find("_minus_") != std::string::npos)
      relative += (relative.empty() ? "" : ", ") + input;
  }
  std::printf("inputs          the 21 features%s%s\n",
              relative.empty() ? "" : "; relative: ", relative.c_str());
  if (model.conformal.level > 0) {
    const ConformalSets& sets = model.conformal;
    std::printf(
        "prediction sets level %.2f; class in the set when p >= N %.4f, S %.4f, P %.4f\n"
        "                (calibrated on %lld/%lld/%lld out-of-fold rows)\n",
        sets.level, sets.floor[0], sets.floor[1], sets.floor[2],
        static_cast<long long>(sets.calibration_rows[0]),
        static_cast<long long>(sets.calibration_rows[1]),
        static_cast<long long>(sets.calibration_rows[2]));
  } else {
    std::printf("prediction sets none in this bundle\n");
  }
  std::printf("parameters      %s\n", model.params_json.c_str());
  if (model.metrics.splits > 0) {
    const ModelMetrics& m = model.metrics;
    std::printf(
        "cv metrics      mean of %d splits: accuracy %.4f, macro-F1 %.4f, balanced "
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
    std::printf(
        "usage: fetal-model sign --key PRIVATE.pem [--out SIG] BUNDLE\n"
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
    std::printf(
        "usage: fetal-model verify --pubkey PUBLIC.pem [--sig SIG] BUNDLE\n"
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
  while (!signature.empty() &&
         (signature.back() == '\n' || signature.back() == '\r' || signature.back() == ' '))
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
    return Fail(kExitFailed,
                "signature verifies but " + bundle_path + " is not a valid bundle: " + s.message());
  }
  std::printf("OK: %s v%" PRId64 " (sha256 %s) is signed by %s\n", bundle_path.c_str(),
              model.model_version, BundleContentHash(data, bytes.size()).c_str(), key_path.c_str());
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
    std::printf(
        "usage: fetal-model keygen --private PRIVATE.pem --public PUBLIC.pem [--force]\n"
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

}  // namespace cli
}  // namespace fetal
