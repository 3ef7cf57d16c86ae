// fetal-model release: signs the set of release manifests a staged rollout needs (the rollout
// and both of its endings, docs/rollout.md), so the server never needs the release key.
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "cli_io.h"
#include "fetal/release_manifest.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"
#include "fetal/trainer/dataset.h"
#include "verbs.h"

namespace fetal {
namespace cli {
namespace {

constexpr long kDefaultValidDays = 90;

std::string UtcTime(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

// The time of a "YYYY-MM-DDTHH:MM:SSZ" string; false when it is not one.
bool ParseUtcTime(const std::string& text, std::time_t* out) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return false;
  *out = timegm(&tm);
  return true;
}

Status RandomHex(size_t bytes, std::string* out) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  if (!in.read(&raw[0], static_cast<std::streamsize>(bytes))) {
    return Status::IoError("cannot read /dev/urandom for the cohort salt");
  }
  static const char kHex[] = "0123456789abcdef";
  out->clear();
  for (unsigned char c : raw) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
  return Status::Ok();
}

Status ParseSteps(const std::string& text, std::vector<int>* out) {
  out->clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 100) {
      return Status::InvalidArgument(
          "--steps takes percentages 1..100 separated by commas, got \"" + text + "\"");
    }
    out->push_back(static_cast<int>(v));
    start = comma + 1;
  }
  return Status::Ok();
}

// The version and file hash of a bundle, after checking it parses.
Status ReadReleaseModel(const std::string& path, ReleaseModel* out) {
  std::string bytes;
  Model model;
  Status s = LoadBundle(path, &bytes, &model);
  if (!s.ok()) return s;
  out->version = model.model_version;
  out->sha256 = Sha256Hex(bytes.data(), bytes.size());
  return Status::Ok();
}

}  // namespace

int Release(const std::vector<std::string>& argv) {
  OptionSpec spec;
  spec.with_value = {"--key",   "--site",   "--sequence",  "--stable", "--candidate",
                     "--steps", "--issued", "--not-after", "--salt",   "--out-dir"};
  Args args;
  Status s = args.Parse("release", argv, spec);
  if (!s.ok()) return Fail(kExitUsage, s);
  if (args.help()) {
    std::printf(
        "usage: fetal-model release --key PRIVATE.pem --site SITE --sequence K\n"
        "                           --stable BUNDLE --candidate BUNDLE --out-dir DIR\n"
        "                           [--steps 5,25,100] [--issued ISO8601] [--not-after ISO8601]\n"
        "                           [--salt 32HEX]\n"
        "Signs the three release manifests of a staged rollout (docs/rollout.md):\n"
        "  DIR/release-K-rollout.json      the candidate to a growing canary cohort\n"
        "  DIR/release-K+1-revert.json     back to the stable version, if the rollout halts\n"
        "  DIR/release-K+1-promote.json    the candidate for everyone, when it completes\n"
        "each with a detached signature (.sig, as `fetal-model sign` writes), and\n"
        "DIR/release-K.set.json, the body of POST /api/v1/releases. K must be above every\n"
        "sequence signed for SITE before. --issued defaults to now, --not-after to 90 days\n"
        "later, --salt (the cohort hash's) to 16 random bytes.\n");
    return kExitOk;
  }
  std::string key_path, site, stable_path, candidate_path, out_dir;
  for (auto [name, value] :
       {std::make_pair("--key", &key_path), std::make_pair("--site", &site),
        std::make_pair("--stable", &stable_path), std::make_pair("--candidate", &candidate_path),
        std::make_pair("--out-dir", &out_dir)}) {
    if (!(s = args.Require(name, value)).ok()) return Fail(kExitUsage, s);
  }
  long sequence = 0;
  if (!(s = args.GetInt("--sequence", 1, 2000000000L, &sequence)).ok()) return Fail(kExitUsage, s);
  if (!args.Has("--sequence")) return Fail(kExitUsage, "--sequence is required");
  std::vector<int> steps;
  if (!(s = ParseSteps(args.Get("--steps", "5,25,100"), &steps)).ok()) return Fail(kExitUsage, s);
  std::time_t issued_time = std::time(nullptr);
  if (args.Has("--issued") && !ParseUtcTime(args.Get("--issued"), &issued_time)) {
    return Fail(kExitUsage, "--issued must be YYYY-MM-DDTHH:MM:SSZ");
  }
  std::time_t not_after_time = issued_time + kDefaultValidDays * 24 * 3600;
  if (args.Has("--not-after") && !ParseUtcTime(args.Get("--not-after"), &not_after_time)) {
    return Fail(kExitUsage, "--not-after must be YYYY-MM-DDTHH:MM:SSZ");
  }
  std::string salt = args.Get("--salt");
  if (!args.Has("--salt") && !(s = RandomHex(16, &salt)).ok()) return Fail(kExitFailed, s);
  std::string key;
  if (!(s = trainer::ReadFileBytes(key_path, &key)).ok()) return Fail(kExitUsage, s);
  ReleaseModel stable, candidate;
  if (!(s = ReadReleaseModel(stable_path, &stable)).ok()) return Fail(kExitUsage, s);
  if (!(s = ReadReleaseModel(candidate_path, &candidate)).ok()) return Fail(kExitUsage, s);
  ReleaseSet set;
  s = MakeReleaseSet(site, sequence, stable, candidate, steps, salt, UtcTime(issued_time),
                     UtcTime(not_after_time), &set);
  if (!s.ok()) return Fail(kExitUsage, s.message());  // names the manifest field

  nlohmann::json upload = {{"manifests", nlohmann::json::array()}};
  for (const ReleaseManifest* m : {&set.rollout, &set.revert, &set.promote}) {
    const std::string bytes = CanonicalManifest(*m);
    std::string signature;
    if (!(s = SignBytes(key, bytes, &signature)).ok()) {
      return Fail(kExitUsage, key_path + ": " + s.message());
    }
    const std::string path = out_dir + "/release-" + std::to_string(m->sequence) + "-" +
                             ReleaseKindName(m->kind) + ".json";
    if (!(s = WriteFileText(path, bytes)).ok()) return Fail(kExitUsage, s);
    if (!(s = WriteFileText(path + ".sig", signature + "\n")).ok()) return Fail(kExitUsage, s);
    upload["manifests"].push_back({{"manifest", bytes}, {"signature", signature}});
    std::printf("wrote %s and %s.sig\n", path.c_str(), path.c_str());
  }
  const std::string set_path = out_dir + "/release-" + std::to_string(sequence) + ".set.json";
  if (!(s = WriteFileText(set_path, upload.dump() + "\n")).ok()) return Fail(kExitUsage, s);
  std::printf("wrote %s (POST it to /api/v1/releases)\n", set_path.c_str());
  return kExitOk;
}

}  // namespace cli
}  // namespace fetal
