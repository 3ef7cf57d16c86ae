#include "http/release_list.h"

#include <map>
#include <string>
#include <vector>

#include "fetal/release_manifest.h"
#include "http/release_state.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;

json ManifestJson(const storage::ReleaseRecord& m) {
  return json{{"sequence", m.sequence},
              {"kind", m.kind},
              {"site", m.site},
              {"uploaded", text::FormatTime(m.uploaded_ms)},
              {"uploaded_by", m.uploaded_by},
              {"published",
               m.published_ms > 0 ? json(text::FormatTime(m.published_ms)) : json(nullptr)},
              {"manifest", m.manifest},
              {"signature", m.signature}};
}

// One decision as the audit chain holds it. The details are the evidence DecideRollout wrote
// (compact JSON); anything else is shown as the text it is.
json DecisionJson(const storage::AuditEvent& e) {
  const std::string& action = e.entry.action;
  json evidence = json::parse(e.entry.details, nullptr, false);
  if (evidence.is_discarded()) evidence = e.entry.details;
  return json{{"action", action.substr(action.rfind('.') + 1)},
              {"time", text::FormatTime(e.time_ms)},
              {"actor", {{"name", e.entry.actor.name}, {"role", e.entry.actor.role}}},
              {"audit_seq", e.seq},
              {"evidence", std::move(evidence)}};
}

// A set before it is started is "uploaded"; after, its rollout's state.
json SetJson(const storage::ReleaseRecord& stored, const ReleaseManifest& m,
             const storage::RolloutRecord* rollout, json decisions) {
  const bool started = rollout != nullptr;
  return json{{"sequence", m.sequence},
              {"site", m.site},
              {"stable_version", m.stable.version},
              {"candidate_version", m.candidate ? m.candidate->version : 0},
              {"steps_percent", m.steps_percent},
              {"not_after", m.not_after},
              {"uploaded", text::FormatTime(stored.uploaded_ms)},
              {"uploaded_by", stored.uploaded_by},
              {"state", started ? rollout->state : "uploaded"},
              {"step", started ? json(rollout->step) : json(nullptr)},
              {"candidate_percent", started ? json(CandidatePercent(*rollout, m)) : json(nullptr)},
              {"step_started",
               started ? json(text::FormatTime(rollout->step_started_ms)) : json(nullptr)},
              {"decisions", std::move(decisions)}};
}

}  // namespace

StoreStatus ListReleasesJson(storage::Store* store, json* out) {
  std::vector<storage::ReleaseRecord> manifests;
  StoreStatus s = store->ListReleases(&manifests);
  std::vector<storage::AuditEvent> events;
  if (s.ok()) s = store->ListRolloutDecisions(&events);
  if (!s.ok()) return s;
  std::map<std::string, json> decisions;  // by audit object, "release/<sequence>"
  for (const auto& e : events) {
    // What was done to the set: a start the gates refused changed nothing (the audit page lists
    // the attempt); a start past them with a written reason did, and says so in its evidence.
    if (e.entry.outcome == "refused") continue;
    decisions[e.entry.object].push_back(DecisionJson(e));
  }
  json listed = json::array(), rollouts = json::array(), sets = json::array();
  for (const auto& m : manifests) {
    listed.push_back(ManifestJson(m));
    if (m.kind != "rollout") continue;
    ReleaseManifest parsed;
    if (!ParseManifest(m.manifest, &parsed).ok()) {
      return StoreStatus::Corruption("stored rollout manifest " + std::to_string(m.sequence) +
                                     " no longer parses");
    }
    storage::RolloutRecord rollout;
    s = store->GetRollout(m.sequence, &rollout);
    if (!s.ok() && s.code() != StoreStatus::Code::kNotFound) return s;
    if (s.ok()) rollouts.push_back(RolloutJson(rollout, parsed));
    auto d = decisions.find("release/" + std::to_string(m.sequence));
    sets.push_back(SetJson(m, parsed, s.ok() ? &rollout : nullptr,
                           d == decisions.end() ? json::array() : std::move(d->second)));
  }
  *out = json{{"sets", std::move(sets)},
              {"manifests", std::move(listed)},
              {"rollouts", std::move(rollouts)}};
  return StoreStatus::Ok();
}

}  // namespace server
}  // namespace fetal
