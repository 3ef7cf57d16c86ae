// ShadowEvaluator: classifies newly stored exams with the versions in shadow, off the request
// path (docs/model-changes.md "Shadow evaluation").
//
// The exam routes Offer() each newly stored exam after its answer is decided; Offer never
// waits: it appends to a bounded queue, and when the queue is full it drops the exam and counts
// it (fetal_shadow_skipped_total in /metrics) rather than block the submission or grow. One
// worker thread takes the queue in batches, classifies each exam with every version in shadow
// (fetal::Classifier, natively, as the server classifies) and stores the results through
// Store::PutShadowResults. A shadow that cannot load or whose results cannot be stored is
// counted (fetal_shadow_failures_total) and never reaches a submission.
//
// The versions in shadow are read from the store at start, after every Refresh() (this
// instance's start/stop routes call it) and at least once a second (another instance's
// changes).
//
// Thread-safety: every method may be called concurrently. Lifetime: the store and the registry
// must outlive the evaluator; the destructor stops the worker (exams still queued are dropped
// and counted as skipped: the replay route can evaluate them later).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fetal/classifier.h"
#include "fetal/schema.h"
#include "model_registry.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// Classifies one stored exam with a shadow version. False when the classifier refuses it (the
// validator found an error), which the caller counts and skips.
bool ShadowClassify(const Classifier& classifier, int64_t version, int64_t exam_id,
                    const std::array<double, kNumFeatures>& features, storage::ShadowResult* out);

class ShadowEvaluator {
 public:
  // `capacity` >= 1: the most exams waiting.
  ShadowEvaluator(storage::Store* store, ModelRegistry* registry, size_t capacity);
  ~ShadowEvaluator();
  ShadowEvaluator(const ShadowEvaluator&) = delete;
  ShadowEvaluator& operator=(const ShadowEvaluator&) = delete;

  // Queues an exam for every version in shadow; returns at once. Nothing is queued when no
  // version is in shadow.
  void Offer(int64_t exam_id, const std::array<double, kNumFeatures>& features);

  // Re-reads the versions in shadow now (after this instance started or stopped one).
  void Refresh();

  // Prometheus lines: queue depth and capacity, versions in shadow, exams evaluated, skipped
  // (queue full, or dropped at shutdown), refused by a classifier, and failures.
  void AppendMetrics(std::string* text) const;

 private:
  struct Pending {
    int64_t exam_id;
    std::array<double, kNumFeatures> features;
  };
  void WorkerLoop();
  void EvaluateBatch(const std::vector<Pending>& batch, const std::vector<int64_t>& versions);

  storage::Store* const store_;
  ModelRegistry* const registry_;
  const size_t capacity_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;      // guarded by mu_
  std::vector<int64_t> versions_;  // guarded by mu_: the versions in shadow
  bool stopping_ = false;          // guarded by mu_

  std::atomic<bool> any_shadow_{false};
  std::atomic<int64_t> evaluated_{0};  // results stored (exam x version)
  std::atomic<int64_t> skipped_{0};    // exams dropped: queue full or shutdown
  std::atomic<int64_t> refused_{0};    // exam x version the shadow's validator refused
  std::atomic<int64_t> failures_{0};   // exam x version not stored: load or store failed
  std::thread worker_;                 // last: started once everything above is initialized
};

}  // namespace server
}  // namespace fetal
