// monitoring_bench: the monitoring answer for a year of day windows over N stored exams.
// Loads N exams (default 1,000,000) through Store::SubmitExamBatch, spread over 365 exam days,
// 2 model versions, 4 submitters and 3 runtime builds (the exams add to their aggregate rows in
// their batch's transaction, as in production), then times QueryDayStats + BuildReport (what
// GET /api/v1/monitoring does besides HTTP) for the whole year, and prints the load rate.
//
//   monitoring_bench [--dir DIR | --url URL] [--exams N] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fetal/sha256.h"
#include "monitoring/report.h"
#include "storage/store.h"
#include "text/time_text.h"

using namespace fetal;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kFirstDay = 20454;  // 2026-01-01
constexpr int kDays = 365;

storage::ExamInput MakeExam(std::mt19937_64& rng, int64_t i) {
  std::uniform_real_distribution<double> u(0, 1);
  storage::ExamInput e;
  e.client_exam_id = "m" + std::to_string(i);
  e.body_sha256 = Sha256Hex(e.client_exam_id.data(), e.client_exam_id.size());
  for (int f = 0; f < kNumFeatures; ++f) e.features[f] = 100 + f + u(rng) * 10;
  e.server_class = u(rng) < 0.78 ? 0 : u(rng) < 0.6 ? 1 : 2;
  e.server_probabilities = {0.1, 0.1, 0.1};
  e.server_probabilities[e.server_class] = 0.8;
  e.client_class = e.server_class;
  e.client_probabilities = e.server_probabilities;
  e.agreement = true;
  e.model_version = 1 + static_cast<int64_t>(i % 2);
  e.runtime_build = "wasm-" + std::to_string(i % 3);
  const int64_t day = kFirstDay + static_cast<int64_t>(u(rng) * kDays);
  e.client_timestamp = text::FormatTime(day * 86400000 + 43200000);
  e.signals.ood_checked = true;
  e.signals.ood_distance = 3 + u(rng);
  for (int f = 0; f < kNumFeatures; ++f)
    e.signals.feature_bins[f] = static_cast<int8_t>(u(rng) * 10);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp", url;
  int64_t exams = 1000000;
  int repeat = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--url") url = argv[i + 1];
    else if (a == "--exams") exams = std::atoll(argv[i + 1]);
    else if (a == "--repeat") repeat = std::atoi(argv[i + 1]);
  }
  storage::StoreOptions options;
  options.url = url.empty() ? dir + "/monitoring-bench.db" : url;
  if (url.empty()) std::remove(options.url.c_str());
  std::unique_ptr<storage::Store> store;
  storage::StoreStatus s = storage::Store::Open(options, &store);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.ToString().c_str());
    return 1;
  }
  std::mt19937_64 rng(1);
  const std::vector<storage::Actor> submitters = {{"bench-a", "clinician", "", 1},
                                                  {"bench-b", "clinician", "", 2},
                                                  {"bench-c", "clinician", "", 3},
                                                  {"bench-d", "clinician", "", 4}};
  const auto load_start = Clock::now();
  const int64_t batch = 10000;
  for (int64_t first = 0; first < exams; first += batch) {
    std::vector<storage::ExamInput> inputs;
    for (int64_t i = first; i < std::min(exams, first + batch); ++i)
      inputs.push_back(MakeExam(rng, i));
    std::vector<storage::SubmitResult> results;
    s = store->SubmitExamBatch(inputs, submitters[(first / batch) % submitters.size()], &results);
    if (!s.ok()) {
      std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  std::printf("backend %s: loaded %lld exams in %.1f s (%.0f exams/s, batches of %lld)\n",
              store->backend(), static_cast<long long>(exams), load_s, exams / load_s,
              static_cast<long long>(batch));

  std::vector<double> ms, query_ms;
  size_t rows = 0;
  for (int r = 0; r < repeat; ++r) {
    const auto start = Clock::now();
    monitoring::ReportRequest request;
    request.from_day = kFirstDay;
    request.to_day = kFirstDay + kDays - 1;
    std::vector<storage::DayStats> days;
    s = store->QueryDayStats({request.from_day, request.to_day, {}, {}}, &days);
    if (!s.ok()) {
      std::fprintf(stderr, "query: %s\n", s.ToString().c_str());
      return 1;
    }
    query_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    const std::string body = monitoring::BuildReport(request, days).dump();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    rows = days.size();
    if (body.size() < 100) return 1;
  }
  std::sort(ms.begin(), ms.end());
  std::sort(query_ms.begin(), query_ms.end());
  std::printf(
      "a year of day windows (%d windows, %zu aggregate rows read): p50 %.1f ms, max %.1f ms "
      "over %d runs (reading the aggregates: p50 %.1f ms)\n",
      kDays, rows, ms[ms.size() / 2], ms.back(), repeat, query_ms[query_ms.size() / 2]);
  return 0;
}
