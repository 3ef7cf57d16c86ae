#include "shadow/shadow_evaluator.h"

#include <chrono>
#include <cstdio>

namespace fetal {
namespace server {
namespace {

constexpr size_t kBatch = 256;                           // exams per store write
constexpr auto kRefreshEvery = std::chrono::seconds(1);  // another instance's start/stop

}  // namespace

bool ShadowClassify(const Classifier& classifier, int64_t version, int64_t exam_id,
                    const std::array<double, kNumFeatures>& features, storage::ShadowResult* out) {
  float f[kNumFeatures];
  for (int i = 0; i < kNumFeatures; ++i) f[i] = static_cast<float>(features[i]);
  ClassifyOptions options;
  options.explain = false;
  Classification c;
  classifier.Classify(f, options, &c);
  if (!c.classified) return false;
  out->version = version;
  out->exam_id = exam_id;
  out->shadow_class = c.predicted_class;
  for (int k = 0; k < kNumClasses; ++k) out->probabilities[k] = c.probabilities[k];
  return true;
}

ShadowEvaluator::ShadowEvaluator(storage::Store* store, ModelRegistry* registry, size_t capacity)
    : store_(store),
      registry_(registry),
      capacity_(capacity < 1 ? 1 : capacity),
      worker_([this] { WorkerLoop(); }) {
  Refresh();
}

ShadowEvaluator::~ShadowEvaluator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    skipped_ += static_cast<int64_t>(queue_.size());
    queue_.clear();
  }
  wake_.notify_all();
  worker_.join();
}

void ShadowEvaluator::Offer(int64_t exam_id, const std::array<double, kNumFeatures>& features) {
  if (!any_shadow_.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= capacity_) {
      ++skipped_;
      return;
    }
    queue_.push_back(Pending{exam_id, features});
  }
  wake_.notify_one();
}

void ShadowEvaluator::Refresh() {
  std::vector<storage::ShadowModel> shadows;
  if (!store_->ListShadows(&shadows).ok()) return;  // keep the last list; the worker retries
  std::vector<int64_t> versions;
  for (const auto& s : shadows) versions.push_back(s.version);
  std::lock_guard<std::mutex> lock(mu_);
  any_shadow_ = !versions.empty();
  versions_ = std::move(versions);
}

void ShadowEvaluator::WorkerLoop() {
  auto next_refresh = std::chrono::steady_clock::now() + kRefreshEvery;
  for (;;) {
    std::vector<Pending> batch;
    std::vector<int64_t> versions;
    bool refresh = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_until(lock, next_refresh, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      refresh = std::chrono::steady_clock::now() >= next_refresh;
      while (!queue_.empty() && batch.size() < kBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      versions = versions_;
    }
    if (refresh) {
      Refresh();
      next_refresh = std::chrono::steady_clock::now() + kRefreshEvery;
    }
    if (!batch.empty()) EvaluateBatch(batch, versions);
  }
}

void ShadowEvaluator::EvaluateBatch(const std::vector<Pending>& batch,
                                    const std::vector<int64_t>& versions) {
  for (int64_t version : versions) {
    ModelVersion model;
    storage::StoreStatus s = registry_->Get(version, &model);
    if (!s.ok()) {
      failures_ += static_cast<int64_t>(batch.size());
      std::fprintf(stderr, "shadow: model version %lld cannot be used: %s\n",
                   static_cast<long long>(version), s.ToString().c_str());
      continue;
    }
    std::vector<storage::ShadowResult> results;
    results.reserve(batch.size());
    for (const Pending& p : batch) {
      storage::ShadowResult r;
      if (ShadowClassify(*model.classifier, version, p.exam_id, p.features, &r)) {
        results.push_back(r);
      } else {
        ++refused_;
      }
    }
    int64_t stored = 0;
    s = store_->PutShadowResults(results, &stored);
    if (!s.ok()) {
      failures_ += static_cast<int64_t>(results.size());
      std::fprintf(stderr, "shadow: results of model version %lld not stored: %s\n",
                   static_cast<long long>(version), s.ToString().c_str());
      continue;
    }
    evaluated_ += stored;
  }
}

void ShadowEvaluator::AppendMetrics(std::string* text) const {
  size_t depth, versions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    depth = queue_.size();
    versions = versions_.size();
  }
  auto line = [text](const char* help, const char* type, const std::string& name, int64_t v) {
    *text += std::string("# HELP ") + name.substr(0, name.find('{')) + " " + help + "\n# TYPE " +
             name.substr(0, name.find('{')) + " " + type + "\n" + name + " " + std::to_string(v) +
             "\n";
  };
  line("Exams waiting for shadow evaluation.", "gauge", "fetal_shadow_queue_depth",
       static_cast<int64_t>(depth));
  line("Most exams the shadow queue holds; beyond it exams are skipped, never waited for.", "gauge",
       "fetal_shadow_queue_capacity", static_cast<int64_t>(capacity_));
  line("Model versions in shadow.", "gauge", "fetal_shadow_versions",
       static_cast<int64_t>(versions));
  line("Shadow results stored (exam x shadow version).", "counter", "fetal_shadow_evaluated_total",
       evaluated_.load());
  line(
      "Exams not shadow-evaluated because the queue was full or the server stopped (replay "
      "evaluates them later).",
      "counter", "fetal_shadow_skipped_total", skipped_.load());
  line("Exam x shadow version pairs the shadow model's validator refused.", "counter",
       "fetal_shadow_refused_total", refused_.load());
  line(
      "Exam x shadow version pairs not evaluated because the model could not be loaded or its "
      "results not stored.",
      "counter", "fetal_shadow_failures_total", failures_.load());
}

}  // namespace server
}  // namespace fetal
