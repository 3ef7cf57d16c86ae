// The state of staged rollouts as the API shows it, and the one way a rollout decision is taken
// (by an admin's request or automatically): through DecideRollout, which records the decision
// and its evidence in the audit chain (docs/rollout.md).
//
// Thread-safety: functions over the store, which is thread-safe.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "fetal/release_manifest.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// The manifest browsers are served, with the rollout it belongs to and that rollout's manifest
// (parsed: its steps_percent give the current percentage).
struct PublishedRelease {
  storage::ReleaseRecord manifest;
  storage::RolloutRecord rollout;
  ReleaseManifest rollout_manifest;
};

// The stored rollout manifest of `sequence`, parsed. NotFound when none was uploaded;
// Corruption when the stored bytes no longer parse.
storage::StoreStatus LoadRolloutManifest(storage::Store* store, int64_t sequence,
                                         ReleaseManifest* out);

// NotFound when nothing is published.
storage::StoreStatus LoadPublishedRelease(storage::Store* store, PublishedRelease* out);

// The percentage of browsers on the candidate: the current step's while the rollout runs, 0 once
// it is halted (everyone on stable) and 100 once promoted.
int CandidatePercent(const storage::RolloutRecord& rollout, const ReleaseManifest& manifest);

// GET /releases/current's body: the signed bytes as a string, the signature, and the rollout's
// current percentage (not signed: the server chooses it among the signed steps).
nlohmann::json PublishedReleaseJson(const PublishedRelease& published);

// A rollout's state for the API.
nlohmann::json RolloutJson(const storage::RolloutRecord& rollout, const ReleaseManifest& manifest);

// Takes `action` on the rollout uploaded at `sequence` (Store::ChangeRollout), from the step the
// caller evaluated (`from_step`), or from the current one (-1: an admin's request). The audit
// event's details are `evidence` with the candidate percentage before and after added, its
// outcome `outcome`. A promotion also makes the rollout's candidate the registry's active version
// in the same transaction (the caller then forgets its cached active model). *out is the new
// state. Conflict for a start after the set's not_after.
storage::StoreStatus DecideRollout(storage::Store* store, int64_t sequence,
                                   storage::RolloutAction action, int from_step,
                                   const storage::Actor& by, nlohmann::json evidence,
                                   storage::RolloutRecord* out, const std::string& outcome = "ok");

}  // namespace server
}  // namespace fetal
