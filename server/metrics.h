// Metrics: request counters and latency histograms, rendered in the Prometheus text format.
// Thread-safe; one short critical section per request.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace fetal {
namespace server {

class Metrics {
 public:
  // `route` is the route pattern ("/api/v1/exams/{id}"), never the raw path, so the number of
  // series stays bounded whatever clients send.
  void ObserveRequest(const std::string& route, const std::string& method, int status,
                      double seconds);
  void CountExams(int64_t stored, int64_t replayed, int64_t mismatched);
  void CountRateLimited();

  // Counters and histograms; the caller appends gauges read from the store.
  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  int64_t exams_stored_ = 0, exams_replayed_ = 0, exams_mismatched_ = 0, rate_limited_ = 0;
};

}  // namespace server
}  // namespace fetal
