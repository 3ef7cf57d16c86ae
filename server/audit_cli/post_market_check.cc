#include "audit_cli/post_market_check.h"

#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "fetal/signature.h"
#include "model_registry.h"
#include "post_market/post_market_files.h"

namespace fetal {
namespace audit_cli {
namespace {

using nlohmann::json;

int Unusable(const std::string& message) {
  std::fprintf(stderr, "fetal-audit post-market-check: %s\n", message.c_str());
  return 2;
}

// What records.jsonl says, counted here.
struct Recount {
  int64_t exams = 0;
  std::map<int64_t, int64_t> by_version;
  int64_t disagreements = 0;
  int64_t outcomes = 0;
  int64_t right = 0;
};

bool CountRecords(const std::string& text, const json& period, Recount* out, std::string* error) {
  const std::string from = period.value("from", ""), to = period.value("to", "");
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    json row = json::parse(text.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (!row.is_object() || !row["day"].is_string() || !row["model_version"].is_number_integer() ||
        !row["server_class"].is_string() || !row["agreement"].is_boolean()) {
      *error = "records.jsonl line " + std::to_string(line_no) + " is not an exam record";
      return false;
    }
    // Days are YYYY-MM-DD, so text order is date order.
    const std::string day = row["day"];
    if (day < from || day > to) {
      *error = "records.jsonl line " + std::to_string(line_no) + " is of " + day +
               ", outside the report's period";
      return false;
    }
    ++out->exams;
    ++out->by_version[row["model_version"].get<int64_t>()];
    if (!row["agreement"].get<bool>()) ++out->disagreements;
    if (row["final_reading"].is_string()) {
      ++out->outcomes;
      if (row["final_reading"] == row["server_class"]) ++out->right;
    }
  }
  return true;
}

class Checker {
 public:
  void Compare(const std::string& figure, const json& reported, const json& recomputed) {
    const bool same = reported == recomputed;
    ok_ = ok_ && same;
    std::printf("%-44s report %s, records %s: %s\n", figure.c_str(), reported.dump().c_str(),
                recomputed.dump().c_str(), same ? "ok" : "DIFFERS");
  }
  void Fail(const std::string& line) {
    ok_ = false;
    std::printf("%s\n", line.c_str());
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = true;
};

int CheckDirectory(const std::vector<std::string>& args) {
  std::string dir, pubkey_path;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--pubkey" && i + 1 < args.size()) pubkey_path = args[++i];
    else if (dir.empty() && args[i].compare(0, 2, "--") != 0) dir = args[i];
    else return Unusable("unexpected argument " + args[i]);
  }
  if (dir.empty() || pubkey_path.empty()) {
    return Unusable(
        "usage: fetal-audit post-market-check DIR --pubkey PEM (the audit key's public key, "
        "`fetal-server audit-key`)");
  }
  std::string pubkey, key_id, error;
  if (!server::ReadFile(pubkey_path, &pubkey, &error)) return Unusable(error);
  Status key_ok = PublicKeyId(pubkey, &key_id);
  if (!key_ok.ok()) return Unusable(pubkey_path + ": " + key_ok.message());

  Checker check;
  std::map<std::string, std::string> files;
  for (const char* name :
       {post_market::kJsonFile, post_market::kHtmlFile, post_market::kRecordsFile}) {
    const std::string path = dir + "/" + name;
    std::string bytes, signature;
    if (!server::ReadFile(path, &bytes, &error)) {
      if (name == std::string(post_market::kRecordsFile)) {
        std::printf("%s: absent (the HTTP route serves none); figures not recomputed\n", name);
        continue;
      }
      return Unusable(error);
    }
    if (!server::ReadFile(path + post_market::kSignatureSuffix, &signature, &error)) {
      return Unusable(error);
    }
    while (!signature.empty() && (signature.back() == '\n' || signature.back() == '\r')) {
      signature.pop_back();
    }
    if (VerifyBytes(pubkey, bytes, signature).ok()) {
      std::printf("%s: signature ok (key id %s)\n", name, key_id.c_str());
    } else {
      check.Fail(std::string(name) + ": signature DOES NOT VERIFY with " + pubkey_path);
    }
    files[name] = std::move(bytes);
  }
  // Not const: a missing key reads as null instead of asserting (the file is input).
  json report = json::parse(files[post_market::kJsonFile], nullptr, false);
  if (!report.is_object() || !report["period"].is_object()) {
    if (!check.ok()) {  // a file that fails its signature is the finding, whatever it holds
      std::printf("NOT OK: the report does not verify\n");
      return 1;
    }
    return Unusable(std::string(post_market::kJsonFile) + " is not a post-market report");
  }
  if (report["signing"]["key_id"] != key_id) {
    check.Fail("report.json names the signing key " + report["signing"]["key_id"].dump() +
               ", not " + key_id);
  }
  const auto records = files.find(post_market::kRecordsFile);
  if (records != files.end()) {
    Recount n;
    if (!CountRecords(records->second, report["period"], &n, &error)) {
      check.Fail("NOT OK: " + error);
    } else {
      check.Compare("exams", report["usage"]["exams"], n.exams);
      json reported_versions = json::object(), recounted_versions = json::object();
      for (const json& v : report["model_versions"]) {
        if (!v.is_object()) continue;
        reported_versions[v.value("model_version", json()).dump()] = v.value("exams", json());
      }
      for (const auto& [version, count] : n.by_version) {
        recounted_versions[std::to_string(version)] = count;
      }
      check.Compare("exams per model version", reported_versions, recounted_versions);
      check.Compare("client/server disagreements", report["client_server_disagreement"]["count"],
                    n.disagreements);
      check.Compare("exams with an outcome", report["performance"]["outcomes"]["count"],
                    n.outcomes);
      json& real = report["performance"]["real"];
      check.Compare("accuracy against outcomes", real.is_object() ? real["accuracy"] : json(),
                    n.outcomes > 0 ? json(static_cast<double>(n.right) / n.outcomes) : json());
    }
  }
  std::printf(check.ok() ? "ok: the report verifies\n" : "NOT OK: the report does not verify\n");
  return check.ok() ? 0 : 1;
}

}  // namespace

int PostMarketCheck(const std::vector<std::string>& args) {
  try {
    return CheckDirectory(args);
  } catch (const json::exception& e) {  // a report.json of another shape
    return Unusable(std::string("report.json is not a post-market report: ") + e.what());
  }
}

}  // namespace audit_cli
}  // namespace fetal
