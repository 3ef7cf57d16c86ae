// The post-market report (`fetal-server report`, GET /api/v1/reports/post-market) against a real
// fetal-server on SQLite and on PostgreSQL: the same database gives the same bytes, the files'
// signatures verify with the key `fetal-server audit-key` prints, fetal-audit recomputes figures
// from the exported records, the HTML escapes what clients sent, and bad periods are refused.
#include <set>

#include "fetal/signature.h"
#include "simulator_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

class PostMarketReportTest : public SimulatorFixture {
 protected:
  json SubmitAt(const std::string& id, const std::string& client_time, const std::string& token,
                const std::string& runtime_build = "", bool nudge = false) {
    json exam = Exam(id);
    exam["client_time"] = client_time;
    if (!runtime_build.empty()) exam["runtime_build"] = runtime_build;
    if (nudge) {  // a browser build that shows another class for the same features
      const std::string cls = exam["client_result"]["class"];
      exam["client_result"]["class"] = cls == "Normal" ? "Suspect" : "Normal";
    }
    return Submit(exam, token);
  }

  void PostOutcome(const json& exam, const std::string& reading, const std::string& token) {
    auto r = Post("/api/v1/exams/" + std::to_string(exam["id"].get<int64_t>()) + "/outcome", token,
                  json{{"final_reading", reading}}.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }

  // A token whose name needs quoting in a shell (and escaping in HTML).
  std::string CreateTokenNamed(const std::string& role, const std::string& name) {
    int status = 0;
    std::string out = RunCommand(Quote(ServerProcess::Binary()) + " token create --role " + role +
                                     " --name " + Quote(name) + CliArgs() + " 2>/dev/null",
                                 &status);
    EXPECT_EQ(status, 0) << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // `fetal-server report` on the fixture's store; its exit status, stdout+stderr in *output.
  int Report(const std::string& from, const std::string& to, const std::string& out,
             std::string* output = nullptr) {
    int status = 0;
    std::string text =
        RunCommand(Quote(ServerProcess::Binary()) + " report --from " + Quote(from) + " --to " +
                       Quote(to) + " --out " + Quote(out) + CliArgs() + " 2>&1",
                   &status);
    if (output) *output = text;
    return status;
  }

  // The audit key's public key as `fetal-server audit-key` prints it, saved for fetal-audit.
  std::string PublicKeyFile() {
    int status = 0;
    const std::string pem =
        RunCommand(Quote(ServerProcess::Binary()) + " audit-key" + CliArgs() + " 2>/dev/null",
                   &status);
    EXPECT_EQ(status, 0);
    const std::string path = dir_ + "/audit-public.pem";
    WriteFile(path, pem);
    return path;
  }

  // `fetal-audit post-market-check DIR --pubkey PEM`.
  int Check(const std::string& report_dir, std::string* output) {
    const std::string server = ServerProcess::Binary();
    const std::string audit = server.substr(0, server.rfind('/')) + "/fetal-audit";
    int status = 0;
    *output = RunCommand(Quote(audit) + " post-market-check " + Quote(report_dir) + " --pubkey " +
                             Quote(PublicKeyFile()) + " 2>&1",
                         &status);
    return status;
  }

  static json ReadJson(const std::string& path) {
    return json::parse(ReadFileOrEmpty(path), nullptr, false);
  }

  // Signs `bytes` with the server's own audit key (the test plays someone holding it).
  std::string SignWithAuditKey(const std::string& bytes) {
    std::string signature;
    EXPECT_TRUE(SignBytes(ReadFileOrEmpty(dir_ + "/data/audit-key.pem"), bytes, &signature).ok());
    return signature + "\n";
  }
};

constexpr const char* kFiles[] = {"report.json", "report.html", "records.jsonl"};

TEST_P(PostMarketReportTest, SignedDeterministicAndRecomputedFromTheRecords) {
  const std::string hostile = CreateTokenNamed("clinician", "<script>alert(\"x\")</script>");
  ASSERT_FALSE(hostile.empty());
  const json e1 = SubmitAt("p-1", "2026-10-30T10:00:00Z", clinician_, "wasm-a");
  const json e2 = SubmitAt("p-2", "2026-10-31T23:00:00Z", clinician_, "wasm-a");
  const json e3 = SubmitAt("p-3", "2026-11-02T01:00:00Z", clinician2_, "wasm-nudged", true);
  const json e4 = SubmitAt("p-4", "2026-11-10T12:00:00Z", hostile);
  SubmitAt("p-5", "2026-12-01T00:00:00Z", clinician_);  // after the period
  SubmitAt("p-6", "2026-10-14T23:59:59Z", clinician_);  // before it
  const std::string server_class = e1["server_result"]["class"];
  const std::string other_class = server_class == "Normal" ? "Suspect" : "Normal";
  PostOutcome(e1, server_class, clinician_);
  PostOutcome(e2, other_class, clinician_);
  PostOutcome(e4, server_class, hostile);

  const std::string a = dir_ + "/report-a", b = dir_ + "/report-b";
  std::string output;
  ASSERT_EQ(Report("2026-10-15", "2026-11-30", a, &output), 0) << output;
  ASSERT_EQ(Report("2026-10-15", "2026-11-30", b, &output), 0) << output;
  for (const char* name : kFiles) {
    const std::string first = ReadFileOrEmpty(a + "/" + name);
    EXPECT_FALSE(first.empty()) << name;
    EXPECT_EQ(first, ReadFileOrEmpty(b + "/" + name)) << name << " differs between two runs";
  }

  // What was submitted, read back from the report.
  json report = ReadJson(a + "/report.json");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["format"], "fetal-post-market-report-v1");
  EXPECT_EQ(report["period"], json({{"from", "2026-10-15"}, {"to", "2026-11-30"}, {"days", 47}}));
  EXPECT_EQ(report["usage"]["exams"], 4);
  EXPECT_EQ(report["usage"]["by_month"].size(), 2u);
  EXPECT_EQ(report["usage"]["by_month"][0]["month"], "2026-10");
  EXPECT_EQ(report["usage"]["by_month"][0]["exams"], 2);
  EXPECT_EQ(report["usage"]["by_month"][1]["exams"], 2);
  EXPECT_EQ(report["usage"]["by_week"].size(), 7u);
  EXPECT_EQ(report["usage"]["by_role"],
            json::parse(R"([{"role":"clinician","submitters":3,"exams":4}])"));
  EXPECT_EQ(report["usage"]["by_submitter"][0]["name"], "<script>alert(\"x\")</script>");
  ASSERT_EQ(report["model_versions"].size(), 1u);
  EXPECT_EQ(report["model_versions"][0]["model_version"], 1);
  EXPECT_EQ(report["model_versions"][0]["share"], 1.0);
  EXPECT_EQ(report["model_versions"][0]["first_exam_day"], "2026-10-30");
  EXPECT_EQ(report["model_versions"][0]["last_exam_day"], "2026-11-10");
  EXPECT_EQ(report["client_server_disagreement"]["count"], 1);
  EXPECT_EQ(report["client_server_disagreement"]["by_runtime_build"][0]["runtime_build"],
            "wasm-nudged");
  EXPECT_EQ(report["performance"]["outcomes"]["count"], 3);
  EXPECT_DOUBLE_EQ(report["performance"]["real"]["accuracy"].get<double>(), 2.0 / 3);
  EXPECT_TRUE(report["performance"]["estimated"].is_object());
  EXPECT_FALSE(report["drift"]["by_model_version"][0]["reference_available"].get<bool>());
  EXPECT_EQ(report["audit"]["head"]["hash"].get<std::string>().size(), 64u);
  EXPECT_TRUE(report["audit"]["latest_checkpoint"].is_null());

  // The test's own recount of the records: one line per exam of the period.
  std::set<std::string> ids;
  const std::string records = ReadFileOrEmpty(a + "/records.jsonl");
  for (size_t at = 0; at < records.size();) {
    const size_t end = records.find('\n', at);
    ids.insert(std::to_string(json::parse(records.substr(at, end - at))["id"].get<int64_t>()));
    at = end + 1;
  }
  EXPECT_EQ(ids, (std::set<std::string>{e1["id"].dump(), e2["id"].dump(), e3["id"].dump(),
                                        e4["id"].dump()}));

  // The server answers with the same bytes, and signs them with the same key.
  for (const char* name : {"report.json", "report.html"}) {
    auto r =
        Get("/api/v1/reports/post-market?from=2026-10-15&to=2026-11-30&file=" + std::string(name),
            admin_);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->body, ReadFileOrEmpty(a + "/" + name)) << name;
    auto sig =
        Get("/api/v1/reports/post-market?from=2026-10-15&to=2026-11-30&file=" + std::string(name) +
                ".sig",
            admin_);
    ASSERT_TRUE(sig);
    ASSERT_EQ(sig->status, 200);
    std::string signature = sig->body;
    signature.pop_back();
    EXPECT_TRUE(VerifyBytes(ReadFileOrEmpty(PublicKeyFile()), r->body, signature).ok()) << name;
  }
  EXPECT_EQ(Get("/api/v1/reports/post-market?from=2026-10-15&to=2026-11-30", admin_)->body,
            ReadFileOrEmpty(a + "/report.json"));

  // fetal-audit checks the signatures and recomputes figures from the records.
  ASSERT_EQ(Check(a, &output), 0) << output;
  for (const char* line : {"report.json: signature ok", "report.html: signature ok",
                           "records.jsonl: signature ok", "ok: the report verifies"}) {
    EXPECT_NE(output.find(line), std::string::npos) << line << "\n" << output;
  }
  for (const char* figure : {"exams ", "exams per model version", "client/server disagreements",
                             "exams with an outcome", "accuracy against outcomes"}) {
    const size_t at = output.find(figure);
    ASSERT_NE(at, std::string::npos) << figure << "\n" << output;
    EXPECT_EQ(output.substr(output.find('\n', at) - 4, 4), ": ok") << output;
  }

  // A checkpoint and one more exam of the period: another report, still verifying.
  ASSERT_EQ(Post("/api/v1/audit/checkpoint", auditor_, "")->status, 201);
  SubmitAt("p-7", "2026-11-20T08:00:00Z", clinician2_);
  const std::string c = dir_ + "/report-c";
  ASSERT_EQ(Report("2026-10-15", "2026-11-30", c, &output), 0) << output;
  for (const char* name : kFiles) {
    EXPECT_NE(ReadFileOrEmpty(a + "/" + name), ReadFileOrEmpty(c + "/" + name)) << name;
  }
  json after = ReadJson(c + "/report.json");
  EXPECT_EQ(after["usage"]["exams"], 5);
  EXPECT_TRUE(after["audit"]["latest_checkpoint"].is_object());
  EXPECT_NE(after["audit"]["head"]["hash"], report["audit"]["head"]["hash"]);
  ASSERT_EQ(Check(c, &output), 0) << output;

  // One byte changed: its signature fails.
  std::string tampered = ReadFileOrEmpty(c + "/report.html");
  tampered[tampered.find("<h1>") + 4] ^= 1;
  WriteFile(c + "/report.html", tampered);
  EXPECT_EQ(Check(c, &output), 1) << output;
  EXPECT_NE(output.find("report.html: signature DOES NOT VERIFY"), std::string::npos) << output;

  // A figure changed and signed again with the real key: the recount catches it.
  WriteFile(c + "/report.html", ReadFileOrEmpty(a + "/report.html"));
  WriteFile(c + "/report.html.sig", ReadFileOrEmpty(a + "/report.html.sig"));
  after["performance"]["real"]["accuracy"] = 0.9;
  const std::string forged = after.dump(1) + "\n";
  WriteFile(c + "/report.json", forged);
  WriteFile(c + "/report.json.sig", SignWithAuditKey(forged));
  EXPECT_EQ(Check(c, &output), 1) << output;
  EXPECT_NE(output.find("report.json: signature ok"), std::string::npos) << output;
  EXPECT_NE(output.find("accuracy against outcomes"), std::string::npos) << output;
  EXPECT_NE(output.find("DIFFERS"), std::string::npos) << output;
}

TEST_P(PostMarketReportTest, HtmlIsSelfContainedAndEscapesWhatClientsSent) {
  const std::string hostile = CreateTokenNamed("clinician", "<script>alert(\"x\")</script>");
  SubmitAt("h-1", "2026-11-03T09:00:00Z", hostile, "<img src=x onerror=alert(1)>", true);
  auto r =
      Get("/api/v1/reports/post-market?from=2026-11-01&to=2026-11-30&file=report.html", admin_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  std::string html = r->body;
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  // The names as text, escaped; nothing of them is left once those are taken out.
  for (const std::string escaped : {"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
                                    "&lt;img src=x onerror=alert(1)&gt;"}) {
    const size_t at = html.find(escaped);
    ASSERT_NE(at, std::string::npos) << escaped;
    html.erase(at, escaped.size());
  }
  for (const char* absent :
       {"<script", "<img", "<link", "src=", "http://", "https://", "@import", "url("}) {
    EXPECT_EQ(html.find(absent), std::string::npos) << absent;
  }
  EXPECT_NE(html.find("<style>"), std::string::npos);
  for (const char* title :
       {"<title>Post-market surveillance report, 2026-11-01 to 2026-11-30", ">1. Usage</h2>",
        ">2. Model versions in use</h2>", ">3. Data quality</h2>",
        ">4. Drift against the training reference</h2>", ">5. Client/server disagreement</h2>",
        ">6. Performance</h2>", ">7. Audit chain and signature</h2>", "@media print"}) {
    EXPECT_NE(html.find(title), std::string::npos) << title;
  }
  // The JSON keeps the strings as they were.
  json report = Body(Get("/api/v1/reports/post-market?from=2026-11-01&to=2026-11-30", admin_));
  EXPECT_EQ(report["client_server_disagreement"]["by_runtime_build"][0]["runtime_build"],
            "<img src=x onerror=alert(1)>");
}

TEST_P(PostMarketReportTest, RefusesBadPeriodsAndEveryoneButAdmins) {
  struct Case {
    std::string from, to, field;
  };
  const Case cases[] = {
      {"2026-12-01", "2026-11-01", "from"},                                      // from after to
      {"2026-13-01", "2026-12-01", "from"},                                      // no such month
      {"2026-02-30", "2026-03-01", "from"},                                      // no such day
      {"2026-1-01", "2026-03-01", "from"},                                       // not YYYY-MM-DD
      {"2026-01-01", "tomorrow", "to"},     {"2023-01-01", "2026-01-02", "to"},  // over three years
  };
  for (const Case& c : cases) {
    std::string output;
    EXPECT_EQ(Report(c.from, c.to, dir_ + "/bad", &output), 2) << c.from << " " << c.to;
    EXPECT_NE(output.find("--" + c.field), std::string::npos) << output;
    auto r = Get("/api/v1/reports/post-market?from=" + c.from + "&to=" + c.to, admin_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << r->body;
    EXPECT_EQ(Body(r)["error"]["field"], c.field) << r->body;
    EXPECT_EQ(Body(r)["error"]["details"][0]["field"], c.field) << r->body;
  }
  struct stat st;
  EXPECT_NE(stat((dir_ + "/bad").c_str(), &st), 0) << "a refused report wrote its directory";
  // Exactly three years of days is accepted; without exams every figure is empty, and verifies.
  std::string output;
  ASSERT_EQ(Report("2023-01-01", "2026-01-01", dir_ + "/long", &output), 0) << output;
  json empty = ReadJson(dir_ + "/long/report.json");
  EXPECT_EQ(empty["usage"]["exams"], 0);
  EXPECT_EQ(empty["usage"]["by_week"].size(), 157u);  // 1097 days
  EXPECT_EQ(empty["usage"]["by_month"].size(), 37u);  // 2023-01 to 2026-01
  EXPECT_TRUE(empty["performance"]["real"].is_null());
  EXPECT_TRUE(empty["model_versions"].empty());
  EXPECT_EQ(ReadFileOrEmpty(dir_ + "/long/records.jsonl"), "");
  EXPECT_EQ(Check(dir_ + "/long", &output), 0) << output;
  EXPECT_EQ(Report("2026-01-01", "2026-01-31", "", &output), 2) << output;

  auto r = Get("/api/v1/reports/post-market?to=2026-11-01", admin_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(Body(r)["error"]["field"], "from") << r->body;
  r = Get("/api/v1/reports/post-market?from=2026-11-01&to=2026-11-02&file=../etc", admin_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(Body(r)["error"]["field"], "file") << r->body;
  for (const std::string& token : {clinician_, auditor_}) {
    r = Get("/api/v1/reports/post-market?from=2026-11-01&to=2026-11-02", token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << r->body;
  }
  r = Get("/api/v1/reports/post-market?from=2026-11-01&to=2026-11-02");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

// Simulated weeks with an injected change in the second: the report's weekly drift verdicts
// name the feature, and every figure still verifies against the records.
TEST_P(PostMarketReportTest, SimulatedDriftAndOutcomesAreInTheReport) {
  UploadModelWithReference();
  const std::string key = "mean_value_of_long_term_variability";
  json summary = Simulate(
      "--days 14 --start 2026-05-04 --per-day 150 --seed 12 --change-day 7 --change stuck:" + key +
          " --outcome-share 0.4 --outcome-delay 2",
      "model2.fhm", 2);
  ASSERT_TRUE(summary.is_object()) << summary;
  const std::string out = dir_ + "/report-sim";
  std::string output;
  ASSERT_EQ(Report("2026-05-04", "2026-05-17", out, &output), 0) << output;
  json report = ReadJson(out + "/report.json");
  EXPECT_EQ(report["usage"]["exams"], summary["submitted"]);
  EXPECT_EQ(report["performance"]["outcomes"]["count"], summary["outcomes"]);
  ASSERT_EQ(report["model_versions"].size(), 1u);
  EXPECT_EQ(report["model_versions"][0]["model_version"], 2);
  EXPECT_EQ(report["model_versions"][0]["active_now"], true);
  const json& drift = report["drift"]["by_model_version"][0];
  ASSERT_EQ(drift["reference_available"], true) << drift.dump().substr(0, 2000);
  ASSERT_EQ(drift["by_week"].size(), 2u);
  EXPECT_NE(drift["by_week"][0]["features"][key], "alert") << drift["by_week"][0].dump();
  EXPECT_EQ(drift["by_week"][1]["features"][key], "alert") << drift["by_week"][1].dump();
  EXPECT_EQ(drift["by_week"][1]["verdict"], "alert");
  EXPECT_EQ(report["drift"]["verdict"], "alert");
  // The confusion matrix is the sum of the monitoring answer's days.
  json confusion = json::parse("[[0,0,0],[0,0,0],[0,0,0]]");
  for (const json& w : summary["monitoring"]["windows"]) {
    if (!w["performance"].is_object()) continue;
    for (int t = 0; t < 3; ++t) {
      for (int p = 0; p < 3; ++p) {
        confusion[t][p] =
            confusion[t][p].get<int64_t>() + w["performance"]["confusion"][t][p].get<int64_t>();
      }
    }
  }
  EXPECT_EQ(report["performance"]["real"]["confusion"], confusion);
  const std::string html = ReadFileOrEmpty(out + "/report.html");
  EXPECT_NE(html.find("<td class=\"t alert\">A</td>"), std::string::npos);
  ASSERT_EQ(Check(out, &output), 0) << output;
}

INSTANTIATE_TEST_SUITE_P(Backends, PostMarketReportTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
