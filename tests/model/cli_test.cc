// fetal-model end to end: every verb's happy path, and bad input -> one clear line + exit code.
// Runs the real binary from the build tree's bin/ on the published data.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "fetal/trainer/trainer.h"

namespace {

const std::string kBin = std::string(FETAL_TEST_TMP_DIR) + "/../../bin/fetal-model";
const std::string kData = std::string(FETAL_DATA_DIR) + "/fetal_health.csv";
const std::string kFolds = std::string(FETAL_DATA_DIR) + "/cv_folds.csv";
// ctest runs every test as a process of its own, two or more at a time: each process works in a
// folder of its own, so no two share an output file.
const std::string kTmp = std::string(FETAL_TEST_TMP_DIR) + "/cli_test/" + std::to_string(getpid());

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

CliRun Cli(const std::string& args) {
  std::string out = kTmp + "/stdout", err = kTmp + "/stderr";
  std::string command = "'" + kBin + "' " + args + " >'" + out + "' 2>'" + err + "'";
  int status = std::system(command.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

size_t CountLines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Fast parameters: the CLI tests check plumbing, the trainer tests check accuracy. The fixed
// recipe is the default one (inputs relative to the baseline, prediction sets), smaller.
const std::string kFast = " --rounds 20 --inner-folds 2 --search fixed";

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::system(("mkdir -p '" + kTmp + "'").c_str());
    bundle_ = kTmp + "/model.fhm";
    CliRun r = Cli("train --data '" + kData + "' --out '" + bundle_ + "' --no-cv --created " +
                   "2026-01-01T00:00:00Z" + kFast);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() { std::system(("rm -rf '" + kTmp + "'").c_str()); }
  static std::string bundle_;
};
std::string CliTest::bundle_;

TEST_F(CliTest, NoVerbOrUnknownVerbIsAUsageError) {
  CliRun r = Cli("");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("usage"), std::string::npos);
  r = Cli("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown verb \"frobnicate\""), std::string::npos) << r.err;
  EXPECT_EQ(Cli("--help").code, 0);
}

TEST_F(CliTest, EveryVerbHasHelp) {
  for (const char* verb : {"train", "cv", "predict", "import-xgboost", "inspect", "sign", "verify",
                           "keygen", "folds"}) {
    CliRun r = Cli(std::string(verb) + " --help");
    EXPECT_EQ(r.code, 0) << verb;
    EXPECT_NE(r.out.find(std::string("usage: fetal-model ") + verb), std::string::npos) << verb;
  }
}

TEST_F(CliTest, TrainIsReproducibleAndWritesACard) {
  std::string again = kTmp + "/again.fhm", card = kTmp + "/card.md";
  CliRun r = Cli("train --data '" + kData + "' --out '" + again + "' --card '" + card +
                 "' --no-cv --created 2026-01-01T00:00:00Z" + kFast);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(again), Slurp(bundle_)) << "same input and --created -> same bytes";
  std::string md = Slurp(card);
  EXPECT_NE(md.find("4e7623efaa7828192c42f0e07a539ec05c80357da14fed6bea0636c0caaff8cd"),
            std::string::npos);
  EXPECT_NE(md.find("exact duplicates removed | 13"), std::string::npos);
  EXPECT_NE(md.find("expert"), std::string::npos);

  // SOURCE_DATE_EPOCH stands in for --created.
  std::string from_env = kTmp + "/env.fhm";
  std::string command = "SOURCE_DATE_EPOCH=1767225600 '" + kBin + "' train --data '" + kData +
                        "' --out '" + from_env + "' --no-cv" + kFast + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(Slurp(from_env), Slurp(bundle_)) << "1767225600 is 2026-01-01T00:00:00Z";
}

TEST_F(CliTest, TrainWithFoldsRecordsMetricsInCardAndBundle) {
  std::string out = kTmp + "/cv_model.fhm", card = kTmp + "/cv_card.md";
  CliRun r = Cli("train --data '" + kData + "' --folds '" + kFolds + "' --out '" + out +
                 "' --card '" + card + "' --created 2026-01-01T00:00:00Z" + kFast);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string md = Slurp(card);
  EXPECT_NE(md.find("| macro-F1 | 0."), std::string::npos) << md;
  EXPECT_NE(md.find("Confusion matrix (summed over the 25 splits)"), std::string::npos);
  EXPECT_NE(md.find("Per-class calibration"), std::string::npos);
  // The published data and folds: the reference models' figures beside this model's.
  EXPECT_NE(md.find("### Against the reference models on the same folds"), std::string::npos);
  EXPECT_NE(md.find("| HistGradientBoosting, defaults | 0.946 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| **this procedure, nested** | **0."), std::string::npos) << md;
  r = Cli("inspect --json '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"splits\": 25"), std::string::npos) << r.out;
}

TEST_F(CliTest, CardComparesWithTheReferencesOnlyOnTheirFolds) {
  std::string folds = kTmp + "/seed3.csv", out = kTmp + "/seed3.fhm", card = kTmp + "/seed3.md";
  CliRun r = Cli("folds --data '" + kData + "' --seed 3 --repeats 1 --out '" + folds + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Cli("train --data '" + kData + "' --folds '" + folds + "' --out '" + out + "' --card '" +
          card + "' --created 2026-01-01T00:00:00Z" + kFast);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string md = Slurp(card);
  EXPECT_NE(md.find("so they are not compared here"), std::string::npos) << md;
  EXPECT_EQ(md.find("HistGradientBoosting"), std::string::npos) << md;
}

TEST_F(CliTest, TrainBadInput) {
  CliRun r = Cli("train --out x.fhm");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing required option --data"), std::string::npos) << r.err;
  r = Cli("train --data /nonexistent.csv --out '" + kTmp + "/x.fhm'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent.csv"), std::string::npos) << r.err;
  r = Cli("train --data '" + kData + "' --out '" + kTmp + "/x.fhm' --eta fast");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--eta must be"), std::string::npos) << r.err;
  r = Cli("train --data '" + kData + "' --out '" + kTmp + "/x.fhm' --created yesterday");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--created must be ISO 8601"), std::string::npos) << r.err;
  r = Cli("train --data '" + kData + "' --out '" + kTmp + "/x.fhm' --bogus 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option --bogus"), std::string::npos) << r.err;

  std::string lines = Slurp(kData);
  size_t third = lines.find('\n', lines.find('\n', lines.find('\n') + 1) + 1);
  std::string broken = lines.substr(0, third + 1) + "120,0,zero,0\n";
  Write(kTmp + "/broken.csv", broken);
  r = Cli("train --data '" + kTmp + "/broken.csv' --out '" + kTmp + "/x.fhm' --no-cv");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("broken.csv:4"), std::string::npos) << r.err;
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
}

TEST_F(CliTest, CvPrintsTheTableAndWritesPredictions) {
  std::string predictions = kTmp + "/predictions.csv";
  CliRun r = Cli("cv --quiet --data '" + kData + "' --folds '" + kFolds + "' --predictions '" +
                 predictions + "'" + kFast);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* column : {"accuracy", "macroF1", "balAcc", "rec_S", "logloss", "brier", "ECE"})
    EXPECT_NE(r.out.find(column), std::string::npos) << column;
  EXPECT_NE(r.out.find("mean ± std over 25 splits"), std::string::npos);
  for (const char* column : {"cov_N", "cov_S", "cov_P", "size", "recipe chosen"})
    EXPECT_NE(r.out.find(column), std::string::npos) << column;
  EXPECT_NE(r.out.find("conformal prediction sets, level 0.95"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("set size over all test rows: mean 1."), std::string::npos) << r.out;
  std::string csv = Slurp(predictions);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "repeat,fold,row,p_normal,p_suspect,p_pathological,set");
  EXPECT_EQ(CountLines(csv), 1u + 5u * 2126u) << "one line per test row of every split";
  // Every row's set names at least its predicted class.
  EXPECT_EQ(csv.find(",\n"), std::string::npos);
}

TEST_F(CliTest, CvNestedSearchWritesItsLog) {
  // The nested search's code path on a toy grid and one repeat of folds drawn by `folds`.
  std::string folds = kTmp + "/one_repeat.csv", log = kTmp + "/search.csv";
  CliRun r = Cli("folds --data '" + kData + "' --seed 3 --repeats 1 --out '" + folds + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Cli("cv --quiet --search tiny --jobs 2 --inner-folds 2 --data '" + kData + "' --folds '" +
          folds + "' --search-log '" + log + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("search \"tiny\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean ± std over 5 splits"), std::string::npos) << r.out;
  std::string csv = Slurp(log);
  EXPECT_EQ(csv.substr(0, csv.find(',')), "repeat");
  // 5 splits x (2 inputs + 1 refinement) x 2 calibrators, one chosen per split.
  EXPECT_EQ(CountLines(csv), 1u + 5u * 6u) << csv;
  size_t chosen = 0;
  for (size_t at = 0; (at = csv.find(",1\n", at)) != std::string::npos; ++at) ++chosen;
  EXPECT_EQ(chosen, 5u) << csv;
}

TEST_F(CliTest, FoldsDrawsStratifiedRepeatsAndIsReproducible) {
  CliRun a = Cli("folds --data '" + kData + "' --seed 7");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out.substr(0, a.out.find('\n')), "row,repeat0,repeat1,repeat2,repeat3,repeat4");
  EXPECT_EQ(CountLines(a.out), 1u + 2126u);
  EXPECT_EQ(Cli("folds --data '" + kData + "' --seed 7").out, a.out);
  EXPECT_NE(Cli("folds --data '" + kData + "' --seed 8").out, a.out);
  // Each fold of repeat 0 holds 35 or 36 of the 176 Pathological exams (data rows of class 3).
  std::string data = Slurp(kData);
  std::vector<int> per_fold(5, 0);
  size_t line_start = a.out.find('\n') + 1, data_line = data.find('\n') + 1;
  while (line_start < a.out.size()) {
    size_t end = a.out.find('\n', line_start), data_end = data.find('\n', data_line);
    std::string row = a.out.substr(line_start, end - line_start);
    std::string exam = data.substr(data_line, data_end - data_line);
    if (exam.substr(exam.rfind(',') + 1).rfind("3", 0) == 0) {
      per_fold[std::stoi(row.substr(row.find(',') + 1))]++;
    }
    line_start = end + 1;
    data_line = data_end + 1;
  }
  for (int n : per_fold) EXPECT_TRUE(n == 35 || n == 36) << n;
  CliRun r = Cli("folds --data '" + kData + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--seed"), std::string::npos) << r.err;
}

TEST_F(CliTest, BadSearchOrInputsAreUsageErrors) {
  CliRun r = Cli("cv --data '" + kData + "' --folds '" + kFolds + "' --search huge");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--search must be default, tiny or fixed"), std::string::npos) << r.err;
  r = Cli("train --data '" + kData + "' --out x.fhm --inputs histogram_mean");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--inputs must be none or FEATURE-REFERENCE"), std::string::npos) << r.err;
  r = Cli("train --data '" + kData + "' --out x.fhm --calibrator platt");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--calibrator must be temperature or vector"), std::string::npos) << r.err;
}

TEST_F(CliTest, CvBadFolds) {
  Write(kTmp + "/short_folds.csv", "row,repeat0\n0,0\n1,1\n");
  CliRun r = Cli("cv --data '" + kData + "' --folds '" + kTmp + "/short_folds.csv'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("2126"), std::string::npos) << r.err;
  r = Cli("cv --data '" + kData + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--folds"), std::string::npos) << r.err;
}

// Rows classified + rows reported as failed = every data row, and the exit status says which.
// (A few published rows break the validator's cross-field rules, e.g. histogram width != max - min;
// whether those are errors is the validator's call, so this test does not hard-code a count.)
size_t FailedRows(const std::string& err) {
  size_t pos = err.find(" rows classified, ");
  if (pos == std::string::npos) return 0;
  return std::stoul(err.substr(pos + 18));
}

TEST_F(CliTest, PredictClassifiesEveryRow) {
  CliRun r = Cli("predict --model '" + bundle_ + "' --input '" + kData + "'");
  const size_t failed = FailedRows(r.err);
  EXPECT_EQ(r.code, failed ? 1 : 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "row,class,p_normal,p_suspect,p_pathological,ood_distance,ood_flag,out_of_range,"
            "figo_class,figo_flags,set,refer_for_review");
  EXPECT_EQ(CountLines(r.out) - 1 + failed, 2126u);
  EXPECT_LT(failed, 50u);
  EXPECT_NE(r.out.find("\n0,"), std::string::npos);
  EXPECT_NE(r.out.find("\n2125,"), std::string::npos);
  // Every row ends with its prediction set and the review flag; some sets are wide and refer.
  EXPECT_EQ(r.out.find(",,0\n"), std::string::npos) << "no row without a set";
  EXPECT_NE(r.out.find(",Suspect;Pathological,1\n"), std::string::npos);
  EXPECT_NE(r.out.find(",Normal,0\n"), std::string::npos);
}

TEST_F(CliTest, PredictExplainAddsContributionColumns) {
  std::string out = kTmp + "/explained.csv";
  CliRun r = Cli("predict --explain --model '" + bundle_ + "' --input '" + kData + "' --output '" +
                 out + "'");
  ASSERT_EQ(r.code, FailedRows(r.err) ? 1 : 0) << r.err;
  std::string csv = Slurp(out);
  std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_NE(header.find(",contrib_baseline_value,"), std::string::npos) << header;
  // The default recipe takes the histogram mean and median relative to the baseline; their
  // contributions are named so.
  EXPECT_NE(header.find(",contrib_histogram_mean_minus_baseline_value,"), std::string::npos)
      << header;
  EXPECT_EQ(header.find(",contrib_histogram_mean,"), std::string::npos) << header;
  EXPECT_NE(header.find(",contrib_bias,ood_distance"), std::string::npos) << header;
}

TEST_F(CliTest, PredictReportsBadRowsAndClassifiesTheRest) {
  std::string data = Slurp(kData);
  std::string header = data.substr(0, data.find('\n') + 1);
  std::string good =
      "132,0.006,0,0.006,0.003,0,0,17,2.1,0,10.4,130,68,198,6,1,141,136,140,12,0,1\n";
  // Line 3: histogram_width (column 12) is not max - min. Line 4: not a number in column 2.
  std::string bad_width =
      "132,0.006,0,0.006,0.003,0,0,17,2.1,0,10.4,99,68,198,6,1,141,136,140,12,0,1\n";
  std::string bad_cell =
      "132,oops,0,0.006,0.003,0,0,17,2.1,0,10.4,130,68,198,6,1,141,136,140,12,0,1\n";
  Write(kTmp + "/mixed.csv", header + good + bad_width + bad_cell + good);
  CliRun r = Cli("predict --model '" + bundle_ + "' --input '" + kTmp + "/mixed.csv'");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(CountLines(r.out), 3u) << "header + the two good rows";
  EXPECT_NE(r.err.find("line 3, column 12 (histogram_width)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 4, column 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 rows classified, 2 rows failed"), std::string::npos) << r.err;
}

TEST_F(CliTest, PredictBadModelOrInput) {
  Write(kTmp + "/garbage.fhm", "this is not a bundle");
  CliRun r = Cli("predict --model '" + kTmp + "/garbage.fhm' --input '" + kData + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not a valid model bundle"), std::string::npos) << r.err;
  EXPECT_EQ(CountLines(r.err), 1u);
  r = Cli("predict --model '" + bundle_ + "' --input /nonexistent.csv");
  EXPECT_EQ(r.code, 2);
  Write(kTmp + "/no_features.csv", "a,b\n1,2\n");
  r = Cli("predict --model '" + bundle_ + "' --input '" + kTmp + "/no_features.csv'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("baseline"), std::string::npos) << "names the missing column: " << r.err;
}

TEST_F(CliTest, InspectHumanAndJson) {
  CliRun r = Cli("inspect '" + bundle_ + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("created         2026-01-01T00:00:00Z"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("trees           60"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("format          2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prediction sets level 0.95"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("relative: histogram_mean_minus_baseline_value"), std::string::npos)
      << r.out;
  r = Cli("inspect --json '" + bundle_ + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"content_sha256\""), std::string::npos);
  EXPECT_NE(r.out.find("\"temperature\""), std::string::npos);

  std::string bytes = Slurp(bundle_);
  Write(kTmp + "/truncated.fhm", bytes.substr(0, bytes.size() / 2));
  r = Cli("inspect '" + kTmp + "/truncated.fhm'");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  r = Cli("inspect");
  EXPECT_EQ(r.code, 2);
  r = Cli("inspect a b");
  EXPECT_EQ(r.code, 2);
}

TEST_F(CliTest, KeygenSignVerify) {
  std::string priv = kTmp + "/key.pem", pub = kTmp + "/key.pub.pem";
  std::remove(priv.c_str());
  std::remove(pub.c_str());
  CliRun r = Cli("keygen --private '" + priv + "' --public '" + pub + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Cli("keygen --private '" + priv + "' --public '" + pub + "'").code, 2)
      << "existing keys are not overwritten";

  std::string bundle = kTmp + "/signed.fhm";
  Write(bundle, Slurp(bundle_));
  r = Cli("sign --key '" + priv + "' '" + bundle + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(Slurp(bundle + ".sig").empty());
  r = Cli("verify --pubkey '" + pub + "' '" + bundle + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("OK"), std::string::npos);

  // A flipped byte: the signature no longer verifies.
  std::string tampered = Slurp(bundle);
  tampered[tampered.size() / 2] ^= 1;
  Write(kTmp + "/tampered.fhm", tampered);
  r = Cli("verify --pubkey '" + pub + "' --sig '" + bundle + ".sig' '" + kTmp + "/tampered.fhm'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("does NOT verify"), std::string::npos) << r.err;

  // Another key's public half does not verify it either.
  std::string priv2 = kTmp + "/key2.pem", pub2 = kTmp + "/key2.pub.pem";
  ASSERT_EQ(Cli("keygen --force --private '" + priv2 + "' --public '" + pub2 + "'").code, 0);
  EXPECT_EQ(Cli("verify --pubkey '" + pub2 + "' '" + bundle + "'").code, 1);
}

TEST_F(CliTest, SignAndVerifyBadInput) {
  CliRun r = Cli("sign '" + bundle_ + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--key"), std::string::npos);
  Write(kTmp + "/not_a_key.pem", "-----BEGIN NONSENSE-----\n");
  r = Cli("sign --key '" + kTmp + "/not_a_key.pem' --out '" + kTmp + "/x.sig' '" + bundle_ + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  r = Cli("verify --pubkey /nonexistent.pem '" + bundle_ + "'");
  EXPECT_EQ(r.code, 2);
  r = Cli("verify --pubkey '" + kTmp + "/not_a_key.pem' --sig /nonexistent.sig '" + bundle_ + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent.sig"), std::string::npos) << r.err;
  // A signature file that is not a signature at all is bad input (2), not a mismatch (1).
  std::string priv = kTmp + "/bad_input_key.pem", pub = kTmp + "/bad_input_key.pub.pem";
  ASSERT_EQ(Cli("keygen --force --private '" + priv + "' --public '" + pub + "'").code, 0);
  Write(kTmp + "/garbage.sig", "not base64 at all\n");
  r = Cli("verify --pubkey '" + pub + "' --sig '" + kTmp + "/garbage.sig' '" + bundle_ + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("garbage.sig"), std::string::npos) << r.err;
  r = Cli("inspect '" + kTmp + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("directory"), std::string::npos) << r.err;
}

TEST_F(CliTest, ImportXgboost) {
  // An XGBoost JSON model written by libxgboost itself (through the trainer's booster wrapper).
  fetal::trainer::Dataset data;
  ASSERT_TRUE(fetal::trainer::LoadDataset(kData, &data).ok());
  fetal::trainer::TrainParams params;
  params.max_depth = 6;
  params.rounds = 20;
  params.input_differences = {};  // an external model reads the features as entered
  std::unique_ptr<fetal::trainer::Booster> booster;
  ASSERT_TRUE(fetal::trainer::Booster::Train(data.table, fetal::trainer::AllRows(data.table),
                                             params, &booster)
                  .ok());
  std::string json;
  ASSERT_TRUE(booster->SaveJson(&json).ok());
  Write(kTmp + "/xgb.json", json);
  CliRun r = Cli("import-xgboost --xgboost '" + kTmp + "/xgb.json' --data '" + kData + "' --out '" +
                 kTmp + "/imported.fhm' --created 2026-01-01T00:00:00Z");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Cli("inspect '" + kTmp + "/imported.fhm'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("xgboost-import"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("trees           60"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prediction sets none in this bundle"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("relative:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("temperature     1.0000"), std::string::npos) << r.out;
  r = Cli("predict --model '" + kTmp + "/imported.fhm' --input '" + kData + "'");
  EXPECT_EQ(r.code, FailedRows(r.err) ? 1 : 0) << r.err;
  EXPECT_EQ(CountLines(r.out) - 1 + FailedRows(r.err), 2126u);

  Write(kTmp + "/not_xgb.json", "{\"learner\": 1}");
  r = Cli("import-xgboost --xgboost '" + kTmp + "/not_xgb.json' --data '" + kData + "' --out '" +
          kTmp + "/imp.fhm'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not_xgb.json"), std::string::npos) << r.err;
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  r = Cli("import-xgboost --data '" + kData + "' --out x");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--xgboost"), std::string::npos) << r.err;
}

}  // namespace
