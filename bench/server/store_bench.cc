// store_bench: durable exam submissions through Store::SubmitExam with 1, 8 and 64 writer threads,
// printing submissions/s, group commits/s, mean group size and per-submission latency p50/p99.
// It first measures how many fsyncs per second the disk under --dir does, for comparison: without
// group commit, submissions/s could not exceed that number.
//
//   store_bench [--dir DIR] [--url URL] [--seconds S] [--threads 1,8,64]
// --url runs against an existing database (e.g. postgresql://...) instead of a fresh SQLite file
// per thread count in DIR (default /tmp).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fetal/sha256.h"
#include "storage/store.h"

using namespace fetal::storage;
using Clock = std::chrono::steady_clock;

namespace {

double FsyncsPerSecond(const std::string& dir) {
  std::string path = dir + "/fsync-probe.tmp";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return 0;
  char block[4096];
  memset(block, 'x', sizeof block);
  int n = 0;
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(1)) {
    if (pwrite(fd, block, sizeof block, 0) != static_cast<ssize_t>(sizeof block)) break;
    if (fdatasync(fd) != 0) break;
    ++n;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  unlink(path.c_str());
  return n / secs;
}

ExamInput MakeExam(int thread, int i) {
  ExamInput e;
  e.client_exam_id = "t" + std::to_string(thread) + "-" + std::to_string(i);
  for (int f = 0; f < fetal::kNumFeatures; ++f) e.features[f] = 120.0 + f * 0.5 + (i % 10) * 0.01;
  e.client_class = i % 3;
  e.client_probabilities = {0.7, 0.2, 0.1};
  e.model_version = 1;
  e.server_class = e.client_class;
  e.server_probabilities = e.client_probabilities;
  e.agreement = true;
  e.client_timestamp = "2026-11-28T12:00:00Z";
  e.body_sha256 = fetal::Sha256Hex(e.client_exam_id.data(), e.client_exam_id.size());
  return e;
}

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp", url;
  double seconds = 3;
  std::vector<int> thread_counts = {1, 8, 64};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      dir = next();
    } else if (a == "--url") {
      url = next();
    } else if (a == "--seconds") {
      seconds = atof(next().c_str());
    } else if (a == "--threads") {
      thread_counts.clear();
      std::string list = next();
      for (size_t p = 0; p < list.size();) {
        thread_counts.push_back(atoi(list.c_str() + p));
        p = list.find(',', p);
        if (p == std::string::npos) break;
        ++p;
      }
    } else {
      fprintf(stderr, "usage: %s [--dir DIR] [--url URL] [--seconds S] [--threads 1,8,64]\n",
              argv[0]);
      return 2;
    }
  }

  std::string work = dir + "/store-bench-XXXXXX";
  std::vector<char> tmpl(work.begin(), work.end());
  tmpl.push_back('\0');
  if (!mkdtemp(tmpl.data())) {
    perror("mkdtemp");
    return 1;
  }
  work = tmpl.data();
  printf("disk under %s: %.0f fsyncs/s (4 KiB write + fdatasync)\n", dir.c_str(),
         FsyncsPerSecond(work));
  printf("backend: %s, %.1f s per run\n", url.empty() ? "sqlite (fresh file per run)" : url.c_str(),
         seconds);
  printf("%8s %14s %10s %13s %8s %8s %11s %7s\n", "threads", "submissions/s", "commits/s",
         "exams/commit", "p50_ms", "p99_ms", "cpu_us/sub", "errors");

  int run = 0;
  for (int threads : thread_counts) {
    StoreOptions options;
    options.url = url.empty() ? work + "/bench-" + std::to_string(++run) + ".db" : url;
    std::unique_ptr<Store> store;
    StoreStatus s = Store::Open(options, &store);
    if (!s.ok()) {
      fprintf(stderr, "open: %s\n", s.ToString().c_str());
      return 1;
    }
    StoreStats before;
    store->Stats(&before);
    std::vector<std::vector<double>> latencies(threads);
    std::atomic<int64_t> errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> workers;
    const auto deadline_after = std::chrono::duration<double>(seconds);
    static int generation = 0;
    ++generation;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(deadline_after);
        Actor by{"bench", "clinician", "", /*principal_id=*/1};
        for (int i = 0; Clock::now() < end; ++i) {
          ExamInput e = MakeExam(generation * 1000 + t, i);
          SubmitResult r;
          auto t0 = Clock::now();
          StoreStatus st = store->SubmitExam(e, by, &r);
          latencies[t].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          if (!st.ok()) {
            if (errors++ == 0) fprintf(stderr, "submit: %s\n", st.ToString().c_str());
          }
        }
      });
    }
    auto start = Clock::now();
    double cpu_start = CpuSeconds();
    go = true;
    for (auto& w : workers) w.join();
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = CpuSeconds() - cpu_start;
    StoreStats after;
    store->Stats(&after);
    std::vector<double> all;
    for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
    int64_t commits = after.commits - before.commits;
    double subs = static_cast<double>(all.size() - errors) / elapsed;
    printf("%8d %14.0f %10.0f %13.1f %8.2f %8.2f %11.1f %7lld\n", threads, subs, commits / elapsed,
           commits ? static_cast<double>(after.committed_writes - before.committed_writes) / commits
                   : 0.0,
           Percentile(all, 0.50), Percentile(all, 0.99), all.empty() ? 0.0 : cpu * 1e6 / all.size(),
           static_cast<long long>(errors.load()));
    fflush(stdout);
    AuditVerifyResult v;
    if (store->VerifyAudit(&v).ok() && !v.ok) {
      fprintf(stderr, "audit chain broken at seq %lld: %s\n",
              static_cast<long long>(v.first_bad_seq), v.problem.c_str());
      return 1;
    }
  }
  std::string cleanup = "rm -rf '" + work + "'";
  if (system(cleanup.c_str()) != 0) fprintf(stderr, "could not remove %s\n", work.c_str());
  return 0;
}
