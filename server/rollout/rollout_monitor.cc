#include "rollout/rollout_monitor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "http/release_state.h"
#include "rollout/cohort_signals.h"
#include "shadow/activation_gates.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

constexpr auto kTick = std::chrono::seconds(1);

}  // namespace

RolloutMonitor::RolloutMonitor(storage::Store* store, ModelRegistry* registry,
                               std::string policy_path)
    : store_(store),
      registry_(registry),
      policy_path_(std::move(policy_path)),
      worker_([this] { WorkerLoop(); }) {}

RolloutMonitor::~RolloutMonitor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void RolloutMonitor::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, kTick, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Evaluate();
    lock.lock();
  }
}

void RolloutMonitor::Evaluate() {
  PublishedRelease current;
  if (!LoadPublishedRelease(store_, &current).ok()) return;  // none, or the store is down
  const storage::RolloutRecord& rollout = current.rollout;
  if (rollout.state != "running" || current.manifest.kind != "rollout") return;
  ActivationPolicy policy;
  std::string error;
  if (!LoadActivationPolicy(policy_path_, &policy, &error)) {
    // A broken policy must not step a rollout on defaults nobody chose; it waits until fixed.
    // Said once per distinct error, not every second.
    if (error != last_error_) std::fprintf(stderr, "rollout monitor: %s\n", error.c_str());
    last_error_ = error;
    return;
  }
  last_error_.clear();
  const int64_t now = text::NowMs();
  const int64_t window_ms = policy.rollout.window_seconds * 1000;
  if (now - rollout.step_started_ms < window_ms || now < next_judgement_ms_) return;
  const CohortWindows windows = WindowsOf(rollout, policy.rollout.window_seconds, now);
  CohortVerdict verdict;
  storage::StoreStatus s = EvaluateCohorts(store_, registry_, policy.rollout,
                                           current.rollout_manifest, windows, &verdict);
  if (!s.ok()) return;
  const std::optional<storage::RolloutAction> action =
      DecisionOn(verdict, rollout.step + 1 >= rollout.steps);
  if (!action) {  // too few exams: the window stretches, judged again a tenth of a window later
    next_judgement_ms_ = now + std::min<int64_t>(window_ms / 10, 60000);
    return;
  }
  verdict.evidence["decision"] = "automatic";
  verdict.evidence["window_seconds"] = policy.rollout.window_seconds;
  verdict.evidence["window"] = WindowsJson(windows);
  verdict.evidence["from_step"] = rollout.step;
  storage::Actor system{"rollout-monitor", "system", "", 0};
  storage::RolloutRecord after;
  s = DecideRollout(store_, rollout.sequence, *action, rollout.step, system, verdict.evidence,
                    &after);
  if (!s.ok() && s.code() != storage::StoreStatus::Code::kConflict) {
    std::fprintf(stderr, "rollout monitor: %s\n", s.message().c_str());
  }
  // A promotion changed the active version: this instance serves it now, not after its cache.
  if (s.ok() && action == storage::RolloutAction::kPromote) registry_->InvalidateActive();
}

}  // namespace server
}  // namespace fetal
