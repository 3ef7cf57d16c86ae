// fetal-drift-sim: replays the dataset against a running fetal-server as N simulated days of
// exams, with delayed outcomes and an injected change, then prints what GET /monitoring says.
// tools/drift-simulator/README.md explains the options and the output.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/csv.h"
#include "fetal/schema.h"
#include "simulation.h"
#include "text/number_text.h"
#include "text/time_text.h"

namespace fetal {
namespace drift {
namespace {

using nlohmann::json;

constexpr size_t kBatch = 1000;

const char kUsage[] =
    "usage: fetal-drift-sim --server http://127.0.0.1:PORT --data fetal_health.csv\n"
    "         --bundle model.fhm --model-version N --token NAME=SECRET [--token ...]\n"
    "         [--auditor SECRET] [--days 30] [--start 2026-01-01] [--per-day 200] [--seed 1]\n"
    "         [--change none|baseline+10|pathological|stuck:<feature key>] [--change-day D]\n"
    "         [--changed-submitter NAME] [--outcome-share 0.5] [--outcome-delay 3]\n"
    "         [--nudged-share 0] [--runtime-build ID] [--nudged-build ID] [--id-prefix sim]\n"
    "         [--rows-out FILE.csv]\n";

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "fetal-drift-sim: %s\n", message.c_str());
  return 2;
}

json ExamJson(const PlannedExam& e, int64_t model_version, const std::string& id) {
  json features = json::object();
  for (int i = 0; i < kNumFeatures; ++i) features[std::string(FeatureSchema()[i].key)] = e.features[i];
  return {{"client_exam_id", id},
          {"client_time", e.client_time},
          {"features", features},
          {"runtime_build", e.runtime_build},
          {"client_result",
           {{"class", std::string(kClassNames[e.client_class])},
            {"probabilities", e.client_probabilities},
            {"model_version", model_version}}}};
}

struct Run {
  std::unique_ptr<httplib::Client> http;
  std::vector<std::string> secrets;  // per submitter
  int64_t submitted = 0, replayed = 0, refused_by_validator = 0, outcomes = 0;
};

bool PostJson(Run& run, const std::string& path, const std::string& secret, const json& body,
              json* answer) {
  httplib::Headers headers = {{"Authorization", "Bearer " + secret}};
  const std::string text = body.dump();
  auto r = run.http->Post(path.c_str(), headers, text, "application/json");
  // A server with its default per-token rate limit answers 429 to a fast replay: wait as told
  // and send the same body again (exams and outcomes are idempotent), a bounded number of times.
  for (int attempt = 0; r && (r->status == 429 || r->status == 503) && attempt < 60; ++attempt) {
    const int wait_s = std::clamp(std::atoi(r->get_header_value("Retry-After").c_str()), 1, 10);
    std::this_thread::sleep_for(std::chrono::seconds(wait_s));
    r = run.http->Post(path.c_str(), headers, text, "application/json");
  }
  if (!r || (r->status != 200 && r->status != 201)) {
    std::fprintf(stderr, "fetal-drift-sim: POST %s: %s\n", path.c_str(),
                 r ? (std::to_string(r->status) + " " + r->body.substr(0, 400)).c_str()
                   : httplib::to_string(r.error()).c_str());
    return false;
  }
  *answer = json::parse(r->body, nullptr, false);
  return !answer->is_discarded();
}

}  // namespace

int Main(int argc, char** argv) {
  std::string server, data_path, bundle_path, auditor, start = "2026-01-01", id_prefix = "sim";
  std::string change_text = "none", rows_out;
  int64_t model_version = 0;
  SimulationOptions o;
  o.submitters.clear();
  std::vector<std::string> secrets;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Fail("missing value after " + a + "\n" + kUsage);
    const std::string v = argv[++i];
    if (a == "--server") server = v;
    else if (a == "--data") data_path = v;
    else if (a == "--bundle") bundle_path = v;
    else if (a == "--model-version") model_version = std::atoll(v.c_str());
    else if (a == "--auditor") auditor = v;
    else if (a == "--token") {
      const size_t eq = v.find('=');
      if (eq == std::string::npos) return Fail("--token takes NAME=SECRET");
      o.submitters.push_back(v.substr(0, eq));
      secrets.push_back(v.substr(eq + 1));
    } else if (a == "--days") o.days = std::atoi(v.c_str());
    else if (a == "--start") start = v;
    else if (a == "--per-day") o.exams_per_day = std::atoi(v.c_str());
    else if (a == "--seed") o.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--change") change_text = v;
    else if (a == "--change-day") o.change_day = std::atoi(v.c_str());
    else if (a == "--changed-submitter") o.changed_submitter = v;
    else if (a == "--outcome-share") o.outcome_share = std::atof(v.c_str());
    else if (a == "--outcome-delay") o.outcome_delay_days = std::atoi(v.c_str());
    else if (a == "--nudged-share") o.nudged_share = std::atof(v.c_str());
    else if (a == "--runtime-build") o.runtime_build = v;
    else if (a == "--nudged-build") o.nudged_build = v;
    else if (a == "--id-prefix") id_prefix = v;
    else if (a == "--rows-out") rows_out = v;
    else return Fail("unknown option " + a + "\n" + kUsage);
  }
  if (server.empty() || data_path.empty() || bundle_path.empty() || model_version < 1 ||
      o.submitters.empty() || o.days < 1 || o.exams_per_day < 1) {
    return Fail(kUsage);
  }
  if (!ParseChange(change_text, &o.change, &o.stuck_feature)) {
    return Fail("unknown --change " + change_text);
  }
  if (!text::ParseDay(start, &o.first_day)) return Fail("--start must be YYYY-MM-DD");

  std::string csv, bundle;
  if (!ReadFile(data_path, &csv)) return Fail("cannot read " + data_path);
  if (!ReadFile(bundle_path, &bundle)) return Fail("cannot read " + bundle_path);
  ExamTable data;
  CsvOptions csv_options;
  csv_options.require_labels = true;
  Status s = ParseExamCsv(csv, csv_options, &data);
  if (!s.ok() || data.rows == 0) return Fail("the dataset does not read: " + s.ToString());
  Model model;
  s = ReadBundle(reinterpret_cast<const uint8_t*>(bundle.data()), bundle.size(), &model);
  if (!s.ok()) return Fail("the bundle does not read: " + s.ToString());
  std::unique_ptr<Classifier> classifier;
  s = Classifier::Create(std::move(model), &classifier);
  if (!s.ok()) return Fail("the bundle does not classify: " + s.ToString());

  const std::vector<PlannedExam> plan = Plan(o, data, *classifier);
  Run run;
  run.http = std::make_unique<httplib::Client>(server);
  run.http->set_read_timeout(120, 0);
  run.http->set_connection_timeout(10, 0);
  run.secrets = secrets;

  // Exams day by day (each submitter's in batches), then the outcomes due that day.
  std::map<int, std::vector<std::pair<int64_t, int>>> outcomes_due;  // day -> (exam id, label)
  auto post_outcomes = [&](const std::vector<std::pair<int64_t, int>>& due,
                           const std::vector<size_t>& submitter_of) -> bool {
    for (size_t k = 0; k < due.size(); ++k) {
      json answer;
      const json body = {{"final_reading", std::string(kClassNames[due[k].second])}};
      if (!PostJson(run, "/api/v1/exams/" + std::to_string(due[k].first) + "/outcome",
                    run.secrets[submitter_of[k]], body, &answer)) {
        return false;
      }
      ++run.outcomes;
    }
    return true;
  };
  std::map<int, std::vector<size_t>> outcome_submitters;
  size_t next = 0;
  for (int day = 0; day < o.days; ++day) {
    std::vector<std::vector<size_t>> by_submitter(o.submitters.size());
    for (; next < plan.size() && plan[next].day == day; ++next) {
      if (!plan[next].valid) {
        ++run.refused_by_validator;  // the browser shows the validator's error; nothing is sent
        continue;
      }
      by_submitter[plan[next].submitter].push_back(next);
    }
    for (size_t sub = 0; sub < by_submitter.size(); ++sub) {
      const std::vector<size_t>& mine = by_submitter[sub];
      for (size_t first = 0; first < mine.size(); first += kBatch) {
        json exams = json::array();
        const size_t last = std::min(mine.size(), first + kBatch);
        for (size_t k = first; k < last; ++k) {
          exams.push_back(ExamJson(plan[mine[k]], model_version,
                                   id_prefix + "-" + std::to_string(o.seed) + "-" +
                                       std::to_string(mine[k])));
        }
        json answer;
        if (!PostJson(run, "/api/v1/exams:batch", run.secrets[sub], {{"exams", exams}}, &answer)) {
          return 1;
        }
        run.submitted += answer["stored"].get<int64_t>();
        run.replayed += answer["replayed"].get<int64_t>();
        for (size_t k = first; k < last; ++k) {
          const PlannedExam& e = plan[mine[k]];
          if (!e.gets_outcome) continue;
          const int64_t id = answer["exams"][k - first]["id"];
          outcomes_due[e.outcome_day].push_back({id, e.label});
          outcome_submitters[e.outcome_day].push_back(sub);
        }
      }
    }
    auto due = outcomes_due.find(day);
    if (due != outcomes_due.end() && !post_outcomes(due->second, outcome_submitters[day])) return 1;
  }
  // Outcomes that come after the last simulated day arrive at the end.
  for (const auto& [day, due] : outcomes_due) {
    if (day >= o.days && !post_outcomes(due, outcome_submitters[day])) return 1;
  }

  if (!rows_out.empty()) {
    // The exams that got an outcome, as a dataset CSV (their submitted features, the final
    // reading as fetal_health) with their exam day: for recomputing performance offline.
    std::ofstream out(rows_out);
    for (int i = 0; i < kNumFeatures; ++i) out << FeatureSchema()[i].key << ',';
    out << "fetal_health,day\n";
    for (const PlannedExam& e : plan) {
      if (!e.valid || !e.gets_outcome) continue;
      for (int i = 0; i < kNumFeatures; ++i) out << text::Precise(e.features[i]) << ',';
      out << e.label + 1 << ',' << text::FormatDay(o.first_day + e.day) << '\n';
    }
    if (!out) return Fail("cannot write " + rows_out);
  }
  json summary = {{"submitted", run.submitted},
                  {"replayed", run.replayed},
                  {"refused_by_validator", run.refused_by_validator},
                  {"outcomes", run.outcomes},
                  {"from", text::FormatDay(o.first_day)},
                  {"to", text::FormatDay(o.first_day + o.days - 1)}};
  if (!auditor.empty()) {
    // What monitoring says: one line per window with its verdicts.
    const std::string path = "/api/v1/monitoring?from=" + text::FormatDay(o.first_day) +
                             "&to=" + text::FormatDay(o.first_day + o.days - 1) +
                             "&model_version=" + std::to_string(model_version);
    auto r = run.http->Get(path.c_str(), httplib::Headers{{"Authorization", "Bearer " + auditor}});
    if (!r || r->status != 200) return Fail("GET " + path + " failed");
    summary["monitoring"] = json::parse(r->body, nullptr, false);
  }
  std::printf("%s\n", summary.dump().c_str());
  return 0;
}

}  // namespace drift
}  // namespace fetal

int main(int argc, char** argv) { return fetal::drift::Main(argc, argv); }
