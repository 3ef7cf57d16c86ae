// ReleaseFixture: the SimulatorFixture plus what the release and rollout tests do with release
// sets: sign a set (fetal/release_manifest.h) and upload it, take decisions, read what browsers
// are served and the audit chain's decisions, and wait for the rollout monitor.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fetal/release_manifest.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"
#include "simulator_fixture.h"
#include "text/time_text.h"

namespace fetal {
namespace testing_support {

inline constexpr char kSite[] = "hospital-a";

class ReleaseFixture : public SimulatorFixture {
 protected:
  // The release entry of registered version `version` whose bundle is `bytes`.
  static ReleaseModel Of(int64_t version, const std::string& bytes) {
    return {version, Sha256Hex(bytes.data(), bytes.size())};
  }

  static ReleaseSet MakeSet(int64_t sequence, const ReleaseModel& stable,
                            const ReleaseModel& candidate,
                            const std::vector<int>& steps = {5, 25, 100}) {
    return MakeReleaseSetAt(kSite, sequence, stable, candidate, steps);
  }

  httplib::Result UploadSet(const json& body) {
    return Post("/api/v1/releases", admin_, body.dump());
  }

  json Decide(int64_t sequence, const std::string& action, int expected_status = 200) {
    auto r = Post("/api/v1/releases/" + std::to_string(sequence) + "/" + action, admin_, "");
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, expected_status) << action << ": " << r->body;
    return Body(r);
  }

  // GET /releases/current's body; fails the test unless 200 and the signature verifies with
  // the model public key over the exact manifest bytes.
  json Current() {
    auto r = Get("/api/v1/releases/current");
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    json body = Body(r);
    EXPECT_TRUE(VerifyBytes(keys_.public_pem, body["manifest"].get<std::string>(),
                            body["signature"].get<std::string>())
                    .ok());
    return body;
  }

  // The audit events with `action`, oldest first (reads the whole chain as the auditor).
  std::vector<json> AuditEvents(const std::string& action) {
    std::vector<json> found;
    json after = 0;
    while (!after.is_null()) {
      json page = Body(Get("/api/v1/audit?limit=1000&after=" + after.dump(), auditor_));
      for (const json& e : page["events"]) {
        if (e["action"] == action) found.push_back(e);
      }
      after = page["next_after"];
    }
    return found;
  }

  void ExpectChainIntact() {
    json verify = Body(Get("/api/v1/audit/verify", auditor_));
    EXPECT_EQ(verify["ok"], true) << verify.dump();
  }

  // Polls GET /releases until `done` holds of the first rollout listed or `seconds` pass; returns
  // its state.
  template <typename Done>
  json WaitForRollout(double seconds, Done done) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(int(seconds * 1000));
    json rollout;
    do {
      json list = Body(Get("/api/v1/releases", auditor_));
      if (list.contains("rollouts") && !list["rollouts"].empty()) rollout = list["rollouts"][0];
      if (!rollout.is_null() && done(rollout)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return rollout;
  }

  // Expects the first rollout listed to be halted within two of its windows, and the revert of
  // `set` to be what browsers are then served. "Within two windows" is counted in windows the
  // monitor judged, not in seconds: a window is judged once it has lasted `window_seconds` and
  // holds enough exams of both cohorts, and a judged window that trips nothing steps the rollout.
  // So at most one automatic step may precede the halt. Wall time is only a bound on the wait
  // (generous: on a loaded machine submitting the cohorts' exams alone can outlast a window).
  void ExpectHaltedWithinTwoWindows(int window_seconds, const ReleaseSet& set) {
    const json rollout = WaitForRollout(10 * window_seconds + 60,
                                        [](const json& r) { return r["state"] != "running"; });
    ASSERT_EQ(rollout["state"], "halted") << rollout.dump();
    EXPECT_LE(AuditEvents("release.rollout.step").size(), 1u) << rollout.dump();
    json current = Current();
    EXPECT_EQ(current["kind"], "revert");
    EXPECT_EQ(current["sequence"], set.revert.sequence);
    EXPECT_EQ(current["manifest"], CanonicalManifest(set.revert));
    EXPECT_EQ(current["candidate_percent"], 0);
  }

  // The details of the latest audit event with `action`, with its actor added; null when none.
  json LastDecision(const std::string& action) {
    std::vector<json> events = AuditEvents(action);
    if (events.empty()) return json();
    json details = json::parse(events.back()["details"].get<std::string>(), nullptr, false);
    details["actor"] = events.back()["actor"];
    return details;
  }
};

}  // namespace testing_support
}  // namespace fetal
