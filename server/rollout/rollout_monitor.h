// RolloutMonitor: takes a running rollout's automatic decisions (docs/rollout.md "Automatic
// decisions"). Every second it reads the published release; when a rollout runs and its current
// step's window (the activation policy's rollout.window_seconds) has passed, it compares the
// cohorts (cohort_signals.h) and halts on any trip, else steps, or promotes after the last step.
// Too few exams in a cohort: no decision, the window stretches until there are enough.
//
// The decision goes through DecideRollout (release_state.h) from the step it evaluated, so two
// instances evaluating the same window take it once: the second is refused by the store.
//
// Thread-safety: one worker thread, started by the constructor and joined by the destructor.
// `store` and `registry` must outlive the monitor.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "model_registry.h"
#include "storage/store.h"

namespace fetal {
namespace server {

class RolloutMonitor {
 public:
  RolloutMonitor(storage::Store* store, ModelRegistry* registry, std::string policy_path);
  ~RolloutMonitor();
  RolloutMonitor(const RolloutMonitor&) = delete;
  RolloutMonitor& operator=(const RolloutMonitor&) = delete;

 private:
  // One evaluation: the worker's step.
  void Evaluate();
  void WorkerLoop();

  storage::Store* const store_;
  ModelRegistry* const registry_;
  const std::string policy_path_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;   // guarded by mu_
  std::string last_error_;  // the policy's last error; only the worker (Evaluate) uses it
  // After a window judged with too few exams, when it is judged again (only the worker uses it):
  // counting a cohort reads and reclassifies up to its cap of exams, too much to redo every second.
  int64_t next_judgement_ms_ = 0;
  std::thread worker_;  // last: started once every member above is ready
};

}  // namespace server
}  // namespace fetal
