#include "http/release_state.h"

#include <algorithm>

#include "text/time_text.h"

namespace fetal {
namespace server {

using nlohmann::json;
using storage::StoreStatus;

StoreStatus LoadRolloutManifest(storage::Store* store, int64_t sequence, ReleaseManifest* out) {
  std::vector<storage::ReleaseRecord> all;
  StoreStatus s = store->ListReleases(&all);
  if (!s.ok()) return s;
  for (const auto& m : all) {
    if (m.sequence != sequence || m.kind != "rollout") continue;
    // The bytes verified when uploaded; one that no longer parses was changed in the database.
    if (!ParseManifest(m.manifest, out).ok()) {
      return StoreStatus::Corruption("stored rollout manifest " + std::to_string(sequence) +
                                     " does not parse");
    }
    return StoreStatus::Ok();
  }
  return StoreStatus::NotFound("no rollout manifest was uploaded at sequence " +
                               std::to_string(sequence));
}

StoreStatus LoadPublishedRelease(storage::Store* store, PublishedRelease* out) {
  StoreStatus s = store->GetPublishedRelease(&out->manifest, &out->rollout);
  if (!s.ok()) return s;
  return LoadRolloutManifest(store, out->rollout.sequence, &out->rollout_manifest);
}

int CandidatePercent(const storage::RolloutRecord& rollout, const ReleaseManifest& manifest) {
  if (rollout.state == "halted") return 0;
  if (rollout.state == "promoted") return 100;
  const auto& steps = manifest.steps_percent;
  if (rollout.step < 0 || steps.empty()) return 0;
  return steps[std::min(static_cast<size_t>(rollout.step), steps.size() - 1)];
}

json PublishedReleaseJson(const PublishedRelease& p) {
  return json{{"sequence", p.manifest.sequence},
              {"kind", p.manifest.kind},
              {"manifest", p.manifest.manifest},
              {"signature", p.manifest.signature},
              {"rollout_sequence", p.rollout.sequence},
              {"rollout_state", p.rollout.state},
              {"candidate_percent", CandidatePercent(p.rollout, p.rollout_manifest)}};
}

json RolloutJson(const storage::RolloutRecord& r, const ReleaseManifest& manifest) {
  return json{{"sequence", r.sequence},
              {"state", r.state},
              {"step", r.step},
              {"steps_percent", manifest.steps_percent},
              {"candidate_percent", CandidatePercent(r, manifest)},
              {"stable_version", manifest.stable.version},
              {"candidate_version", manifest.candidate ? manifest.candidate->version : 0},
              {"step_started", text::FormatTime(r.step_started_ms)},
              {"started", text::FormatTime(r.started_ms)},
              {"started_by", r.started_by},
              {"ended", r.ended_ms > 0 ? json(text::FormatTime(r.ended_ms)) : json(nullptr)}};
}

StoreStatus DecideRollout(storage::Store* store, int64_t sequence, storage::RolloutAction action,
                          int from_step, const storage::Actor& by, json evidence,
                          storage::RolloutRecord* out, const std::string& outcome) {
  ReleaseManifest manifest;
  StoreStatus s = LoadRolloutManifest(store, sequence, &manifest);
  if (!s.ok()) return s;
  int64_t not_after = 0;
  if (action == storage::RolloutAction::kStart &&
      (!text::ParseTime(manifest.not_after, &not_after) || not_after <= text::NowMs())) {
    // Browsers would refuse it: nothing would roll out, and nothing could be reverted.
    return StoreStatus::Conflict("the set's not_after " + manifest.not_after + " has passed",
                                 "sequence");
  }
  storage::RolloutRecord before;
  s = store->GetRollout(sequence, &before);
  if (s.ok() && from_step >= 0 && before.step != from_step) {
    return StoreStatus::Conflict("the rollout moved from the step this decision evaluated",
                                 "sequence");
  }
  if (s.ok()) {
    evidence["percent_before"] = CandidatePercent(before, manifest);
  } else if (s.code() != StoreStatus::Code::kNotFound) {
    return s;
  }
  // Figures as read here; whether the change is allowed the store decides under its lock, so a
  // decision racing another (another admin, another instance) is refused, not doubled.
  const int next_step = s.ok() ? before.step + 1 : 0;
  const size_t last = manifest.steps_percent.size() - 1;
  switch (action) {
    case storage::RolloutAction::kStart:
      evidence["percent_after"] = manifest.steps_percent[0];
      break;
    case storage::RolloutAction::kStep:
      evidence["percent_after"] =
          manifest.steps_percent[std::min(static_cast<size_t>(next_step), last)];
      break;
    case storage::RolloutAction::kHalt: evidence["percent_after"] = 0; break;
    case storage::RolloutAction::kPromote: evidence["percent_after"] = 100; break;
  }
  if (from_step < 0 && s.ok()) from_step = before.step;
  storage::RolloutChange change;
  if (action == storage::RolloutAction::kPromote) {
    change.activate_version = manifest.candidate->version;
    evidence["activated_version"] = change.activate_version;
  }
  change.outcome = outcome;
  change.evidence = evidence.dump();
  return store->ChangeRollout(sequence, action, from_step, by, change, out);
}

}  // namespace server
}  // namespace fetal
