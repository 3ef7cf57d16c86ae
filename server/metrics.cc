#include "metrics.h"

#include <cstdio>

#include "text/number_text.h"

namespace fetal {
namespace server {

constexpr std::array<double, 12> Metrics::kBuckets;

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status,
                             double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[std::make_tuple(route, method, status)];
  Histogram& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::CountExams(int64_t stored, int64_t replayed, int64_t mismatched) {
  std::lock_guard<std::mutex> lock(mu_);
  exams_stored_ += stored;
  exams_replayed_ += replayed;
  exams_mismatched_ += mismatched;
}

void Metrics::CountRateLimited() {
  std::lock_guard<std::mutex> lock(mu_);
  ++rate_limited_;
}

std::string Metrics::Render() const {
  std::string out;
  char buf[2048];
  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP fetal_http_requests_total HTTP requests by route pattern, method and status.\n";
  out += "# TYPE fetal_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    std::snprintf(buf, sizeof buf,
                  "fetal_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                  std::get<0>(key).c_str(), std::get<1>(key).c_str(), std::get<2>(key),
                  static_cast<unsigned long long>(n));
    out += buf;
  }
  out +=
      "# HELP fetal_http_request_duration_seconds Time from request start to response, by route "
      "pattern.\n";
  out += "# TYPE fetal_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out += "fetal_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" +
             text::Readable(kBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    std::snprintf(buf, sizeof buf,
                  "fetal_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                  "fetal_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                  "fetal_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  route.c_str(), static_cast<unsigned long long>(h.count), route.c_str(), h.sum,
                  route.c_str(), static_cast<unsigned long long>(h.count));
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "# HELP fetal_exam_submissions_total Exams accepted by this process, by outcome.\n"
                "# TYPE fetal_exam_submissions_total counter\n"
                "fetal_exam_submissions_total{outcome=\"stored\"} %lld\n"
                "fetal_exam_submissions_total{outcome=\"replayed\"} %lld\n"
                "# HELP fetal_exam_mismatches_total Exams stored by this process whose server "
                "result disagreed with the client's.\n"
                "# TYPE fetal_exam_mismatches_total counter\n"
                "fetal_exam_mismatches_total %lld\n"
                "# HELP fetal_rate_limited_total Requests refused with 429.\n"
                "# TYPE fetal_rate_limited_total counter\n"
                "fetal_rate_limited_total %lld\n",
                static_cast<long long>(exams_stored_), static_cast<long long>(exams_replayed_),
                static_cast<long long>(exams_mismatched_), static_cast<long long>(rate_limited_));
  out += buf;
  return out;
}

}  // namespace server
}  // namespace fetal
