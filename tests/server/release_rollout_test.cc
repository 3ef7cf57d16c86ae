// Release manifests and staged rollouts against a real fetal-server, on SQLite and on a real
// PostgreSQL: `fetal-model release` signs a set the server accepts and serves byte for byte; a
// tampered byte, another key, a replayed lower sequence, an unregistered version or hash, or a
// manifest not in canonical form is refused with the field named and the refusal audited; a
// rollout starts, steps, halts (the pre-signed revert is then what /releases/current serves) or
// is promoted, and each decision is in the audit chain with its evidence; a version-6 database
// gains the release tables.
#include <chrono>
#include <cstdio>
#include <thread>
#include <tuple>

#include "release_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

class ReleaseRolloutTest : public ReleaseFixture {
 protected:
  void SetUp() override {
    ReleaseFixture::SetUp();
    if (HasFailure()) return;
    bundle_v2_ = BundleBytes(TinyModel(2, 0.2f));
    WriteFile(dir_ + "/model-v2.fhm", bundle_v2_);
    WriteFile(dir_ + "/private.pem", keys_.private_pem);
    // The rollout's mechanics: the gates a start passes are StartIsGatedAgainstTheStableVersion's.
    WritePolicy({{"enforce", false}});
    auto r = Post("/api/v1/models", admin_, bundle_v2_, "application/octet-stream",
                  {{"X-Model-Signature", Sign(keys_, bundle_v2_)}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }

  ReleaseModel V1() const { return Of(1, bundle_v1_); }
  ReleaseModel V2() const { return Of(2, bundle_v2_); }

  // The registry's active version as browsers without manifest support see it.
  std::string ActiveVersion() {
    auto r = Get("/api/v1/models/active");
    EXPECT_TRUE(r);
    return r ? r->get_header_value("X-Model-Version") : "";
  }

  // An audit event's details; a model.activate event's follow "previous=<version> ".
  static json Details(const json& event) {
    const std::string text = event["details"].get<std::string>();
    const size_t brace = text.find('{');
    return brace == std::string::npos ? json() : json::parse(text.substr(brace), nullptr, false);
  }

  // Expects `body` refused with `status`, `code` naming `field`, and one more refused upload
  // in the audit chain.
  void ExpectRefused(const json& body, int status, const std::string& code,
                     const std::string& field) {
    SCOPED_TRACE(code + " " + field);
    const size_t refused_before = RefusedUploads();
    auto r = UploadSet(body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    json error = Body(r)["error"];
    EXPECT_EQ(error["code"], code) << r->body;
    EXPECT_EQ(error["field"], field) << r->body;
    EXPECT_EQ(RefusedUploads(), refused_before + 1);
  }

  size_t RefusedUploads() {
    size_t n = 0;
    for (const json& e : AuditEvents("release.upload")) n += e["outcome"] == "refused";
    return n;
  }

  std::string bundle_v2_;
};

TEST_P(ReleaseRolloutTest, CliSignedSetIsServedByteForByte) {
  int status = 0;
  const std::string out =
      RunCommand(std::string("'") + FETAL_MODEL_BIN + "' release --key '" + dir_ +
                     "/private.pem' --site " + kSite + " --sequence 41 --stable '" + dir_ +
                     "/model.fhm' --candidate '" + dir_ +
                     "/model-v2.fhm' --steps 5,25,100 --out-dir '" + dir_ + "' 2>&1",
                 &status);
  ASSERT_EQ(status, 0) << out;
  const std::string rollout_bytes = ReadFileOrEmpty(dir_ + "/release-41-rollout.json");
  const std::string revert_bytes = ReadFileOrEmpty(dir_ + "/release-42-revert.json");
  ReleaseManifest rollout;
  ASSERT_TRUE(ParseManifest(rollout_bytes, &rollout).ok()) << rollout_bytes;
  EXPECT_EQ(rollout.stable.version, 1);
  EXPECT_EQ(rollout.stable.sha256, V1().sha256);
  EXPECT_EQ(rollout.candidate->sha256, V2().sha256);
  std::string sig = ReadFileOrEmpty(dir_ + "/release-42-revert.json.sig");
  while (!sig.empty() && sig.back() == '\n') sig.pop_back();
  EXPECT_TRUE(VerifyBytes(keys_.public_pem, revert_bytes, sig).ok());

  // Nothing is published before a rollout starts.
  auto none = Get("/api/v1/releases/current");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);

  auto r = Post("/api/v1/releases", admin_, ReadFileOrEmpty(dir_ + "/release-41.set.json"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(Body(r)["candidate_version"], 2);
  Decide(41, "start");
  json current = Current();
  EXPECT_EQ(current["manifest"], rollout_bytes) << "the server must serve the signed bytes";
  EXPECT_EQ(current["sequence"], 41);
  EXPECT_EQ(current["candidate_percent"], 5);

  // Browsers revalidate: the same state answers 304, a step changes the ETag.
  auto first = Get("/api/v1/releases/current");
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  EXPECT_EQ(first->get_header_value("Cache-Control"), "no-cache");
  auto again = Get("/api/v1/releases/current", "", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  Decide(41, "step");
  auto stepped = Get("/api/v1/releases/current", "", {{"If-None-Match", etag}});
  ASSERT_TRUE(stepped);
  EXPECT_EQ(stepped->status, 200);
  EXPECT_EQ(Body(stepped)["candidate_percent"], 25);

  // Halting publishes the revert the engineer signed, unchanged.
  Decide(41, "halt");
  current = Current();
  EXPECT_EQ(current["manifest"], revert_bytes);
  EXPECT_EQ(current["kind"], "revert");
  EXPECT_EQ(current["candidate_percent"], 0);
}

TEST_P(ReleaseRolloutTest, RefusesWhatWasNotSignedAsASet) {
  const ReleaseSet set = MakeSet(41, V1(), V2());
  const std::string rollout = CanonicalManifest(set.rollout);
  const std::string revert = CanonicalManifest(set.revert);
  const std::string promote = CanonicalManifest(set.promote);
  const std::string key = keys_.private_pem;

  // One byte changed after signing: 5 % becomes 6 %.
  json tampered = SignedSet(set);
  std::string bytes = tampered["manifests"][0]["manifest"];
  const size_t at = bytes.find("[5,");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 1] = '6';
  tampered["manifests"][0]["manifest"] = bytes;
  ExpectRefused(tampered, 422, "signature_invalid", "manifests[0].signature");

  // Signed with another key.
  ExpectRefused(UploadBody({{rollout, key}, {revert, NewKeys().private_pem}, {promote, key}}), 422,
                "signature_invalid", "manifests[1].signature");

  // Well signed but not canonical: the same object printed with spaces.
  const std::string spaced = json::parse(rollout).dump(1);
  ExpectRefused(UploadBody({{spaced, key}, {revert, key}, {promote, key}}), 422, "invalid_manifest",
                "manifests[0].manifest");

  // Signed, but the endings do not belong to this rollout (a promotion of another candidate).
  const ReleaseSet other = MakeSet(41, V1(), ReleaseModel{3, std::string(64, 'a')});
  ExpectRefused(UploadBody(
                    {{rollout, key}, {revert, key}, {CanonicalManifest(other.promote), key}}),
                422, "invalid_release_set", "manifests[2].stable");

  // A version the registry does not hold, and a registered version with another hash.
  ExpectRefused(SignedSet(MakeSet(41, V1(), ReleaseModel{9, V2().sha256})), 422, "unknown_version",
                "manifests[0].candidate");
  ExpectRefused(SignedSet(MakeSet(41, ReleaseModel{1, std::string(64, 'b')}, V2())), 422,
                "hash_mismatch", "manifests[0].stable");

  // Not a set at all, or a pair without its signature.
  ExpectRefused(json{{"manifests", json::array()}}, 400, "invalid_body", "manifests");
  json unsigned_set = SignedSet(set);
  unsigned_set["manifests"][2].erase("signature");
  ExpectRefused(unsigned_set, 400, "invalid_body", "manifests[2]");

  // Nothing refused was stored.
  json list = Body(Get("/api/v1/releases", auditor_));
  EXPECT_TRUE(list["manifests"].empty()) << list.dump();

  // The set itself is accepted; replaying it, or a lower sequence, is refused.
  auto r = UploadSet(SignedSet(set));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  ExpectRefused(SignedSet(set), 409, "sequence_not_newer", "manifests[0].sequence");
  ExpectRefused(SignedSet(MakeSet(40, V1(), V2())), 409, "sequence_not_newer",
                "manifests[0].sequence");
  ReleaseSet elsewhere = MakeSet(50, V1(), V2());
  for (ReleaseManifest* m : {&elsewhere.rollout, &elsewhere.revert, &elsewhere.promote}) {
    m->site = "hospital-b";
  }
  ExpectRefused(SignedSet(elsewhere), 409, "wrong_site", "manifests[0].site");

  // Only an admin uploads; anyone reads the current manifest.
  auto clinician = Post("/api/v1/releases", clinician_, SignedSet(MakeSet(60, V1(), V2())).dump());
  ASSERT_TRUE(clinician);
  EXPECT_EQ(clinician->status, 403);
  list = Body(Get("/api/v1/releases", auditor_));
  ASSERT_EQ(list["manifests"].size(), 3u) << list.dump();
  EXPECT_EQ(list["manifests"][0]["manifest"], rollout);
  ExpectChainIntact();
}

TEST_P(ReleaseRolloutTest, RolloutStepsToPromotionWithEachDecisionAudited) {
  ASSERT_EQ(UploadSet(SignedSet(MakeSet(41, V1(), V2())))->status, 201);
  // Decisions need a started rollout, and each only where it applies.
  Decide(41, "step", 404);
  Decide(99, "start", 404);
  json state = Decide(41, "start");
  EXPECT_EQ(state["state"], "running");
  EXPECT_EQ(state["candidate_percent"], 5);
  Decide(41, "start", 409);
  Decide(41, "promote", 409);  // only from the last step
  EXPECT_EQ(Decide(41, "step")["candidate_percent"], 25);
  EXPECT_EQ(Decide(41, "step")["candidate_percent"], 100);
  Decide(41, "step", 409);          // no step after the last
  EXPECT_EQ(ActiveVersion(), "1");  // stepping publishes manifests, the registry stays
  state = Decide(41, "promote");
  EXPECT_EQ(state["state"], "promoted");
  Decide(41, "halt", 409);  // a promoted rollout cannot be halted into its revert
  // The promotion made the candidate the registry's active version, audited in its transaction.
  EXPECT_EQ(ActiveVersion(), "2");
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 2);
  std::vector<json> activations = AuditEvents("model.activate");
  ASSERT_FALSE(activations.empty());
  EXPECT_EQ(activations.back()["object"], "model/2");
  EXPECT_EQ(activations.back()["actor"]["role"], "admin");
  EXPECT_EQ(Details(activations.back())["promoted_by"], "release/41") << activations.back();
  EXPECT_EQ(activations.back()["details"].get<std::string>().rfind("previous=1 ", 0), 0u);
  EXPECT_EQ(Details(AuditEvents("release.rollout.promote").back())["activated_version"], 2);

  json current = Current();
  EXPECT_EQ(current["kind"], "promote");
  EXPECT_EQ(current["sequence"], 42);
  EXPECT_EQ(current["candidate_percent"], 100);
  ReleaseManifest promote;
  ASSERT_TRUE(ParseManifest(current["manifest"], &promote).ok());
  EXPECT_EQ(promote.stable.version, 2);

  // The chain holds every decision with the percentages it moved between.
  const std::vector<std::pair<std::string, std::pair<int, int>>> expected =
      {{"release.rollout.start", {-1, 5}},
       {"release.rollout.step", {5, 25}},
       {"release.rollout.step", {25, 100}},
       {"release.rollout.promote", {100, 100}}};
  for (const auto& [action, percents] : expected) {
    std::vector<json> events = AuditEvents(action);
    ASSERT_FALSE(events.empty()) << action;
    bool found = false;
    for (const json& e : events) {
      EXPECT_EQ(e["object"], "release/41");
      EXPECT_EQ(e["actor"]["role"], "admin");
      json details = json::parse(e["details"].get<std::string>(), nullptr, false);
      ASSERT_TRUE(details.is_object()) << e.dump();
      EXPECT_EQ(details["decision"], "manual");
      found |= details["percent_after"] == percents.second &&
               (percents.first < 0 || details["percent_before"] == percents.first);
    }
    EXPECT_TRUE(found) << action;
  }
  ExpectChainIntact();
}

TEST_P(ReleaseRolloutTest, OnlyOneRolloutRunsAndAnOlderOneCannotStartAfterANewer) {
  ASSERT_EQ(UploadSet(SignedSet(MakeSet(41, V1(), V2())))->status, 201);
  ASSERT_EQ(UploadSet(SignedSet(MakeSet(45, V1(), V2())))->status, 201);
  Decide(45, "start");
  Decide(41, "start", 409);  // one runs already
  Decide(45, "halt");
  EXPECT_EQ(Current()["sequence"], 46);
  EXPECT_EQ(ActiveVersion(), "1");  // a halt leaves the active version as it was
  Decide(41, "start", 409);         // 46 is published: browsers would refuse 41
  Decide(45, "start", 409);         // started before
  ExpectChainIntact();
}

// Without a policy file the built-in defaults are enforced at a start: the candidate is measured
// against the release's stable version, even when the registry has another version active, and
// a failing gate refuses with every gate's value (the body of a refused activation). A written
// reason overrides it, and the start event holds the reason with the values.
TEST_P(ReleaseRolloutTest, StartIsGatedAgainstTheStableVersion) {
  ASSERT_EQ(std::remove((dir_ + "/data/activation-policy.json").c_str()), 0);
  const std::string bundle_v3 = BundleBytes(TinyModel(3, 0.3f));
  auto up = Post("/api/v1/models", admin_, bundle_v3, "application/octet-stream",
                 {{"X-Model-Signature", Sign(keys_, bundle_v3)}});
  ASSERT_EQ(up->status, 201) << up->body;
  // The registry's active version is 2 (put there past the gates), the release's stable 1.
  auto activated =
      Post("/api/v1/models/2/activate", admin_,
           json{{"override_reason", "ward pilot of version 2 approved by the board"}}.dump());
  ASSERT_EQ(activated->status, 200) << activated->body;
  EXPECT_EQ(Body(activated)["activation_gates"]["outcome"], "override");
  ASSERT_EQ(UploadSet(
                SignedSet(MakeSet(41, V1(), {3, Sha256Hex(bundle_v3.data(), bundle_v3.size())})))
                ->status,
            201);

  auto refused = Post("/api/v1/releases/41/start", admin_, "");
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->status, 409) << refused->body;
  const json error = Body(refused)["error"];
  EXPECT_EQ(error["code"], "activation_gates_failed");
  const json& details = error["details"];
  EXPECT_EQ(details["version"], 3);
  EXPECT_EQ(details["champion_version"], 1) << details;
  EXPECT_EQ(details["active_version"], 2) << details;
  EXPECT_EQ(details["policy"]["enforce"], true);
  EXPECT_NE(details["policy"]["source"].get<std::string>().find("built-in defaults"),
            std::string::npos);
  ASSERT_EQ(details["gates"].size(), 6u) << details;
  EXPECT_EQ(details["gates"][1]["name"], "min_shadow_exams");
  EXPECT_EQ(details["gates"][1]["measured"], 0);
  EXPECT_EQ(details["gates"][1]["threshold"], 200);
  EXPECT_EQ(details["gates"][1]["passed"], false);
  EXPECT_EQ(Get("/api/v1/releases/current")->status, 404);  // nothing published
  std::vector<json> starts = AuditEvents("release.rollout.start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0]["outcome"], "refused");
  EXPECT_EQ(starts[0]["object"], "release/41");
  EXPECT_EQ(Details(starts[0])["gates"][1]["measured"], 0);

  // The override is validated as an activation's, then recorded with the values.
  auto too_short = Post("/api/v1/releases/41/start", admin_, R"({"override_reason":"ok"})");
  EXPECT_EQ(too_short->status, 422);
  EXPECT_EQ(Body(too_short)["error"]["field"], "override_reason");
  EXPECT_EQ(Post("/api/v1/releases/41/start", admin_, R"({"why":"a reason long enough here"})")
                ->status,
            422);
  const std::string reason = "canary approved by the clinical safety board, ref CSB-2026-31";
  auto started =
      Post("/api/v1/releases/41/start", admin_, json{{"override_reason", reason}}.dump());
  ASSERT_EQ(started->status, 200) << started->body;
  const json state = Body(started);
  EXPECT_EQ(state["state"], "running");
  EXPECT_EQ(state["activation_gates"]["outcome"], "override");
  EXPECT_EQ(state["activation_gates"]["champion_version"], 1);
  EXPECT_EQ(Current()["sequence"], 41);
  starts = AuditEvents("release.rollout.start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1]["outcome"], "override");
  const json gates = Details(starts[1])["activation_gates"];
  EXPECT_EQ(gates["override_reason"], reason) << starts[1];
  EXPECT_EQ(gates["champion_version"], 1);
  EXPECT_EQ(gates["gates"][1]["passed"], false);
  // A second start is a conflict, not another gate evaluation.
  auto again = Post("/api/v1/releases/41/start", admin_, json{{"override_reason", reason}}.dump());
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(Body(again)["error"]["code"], "rollout_conflict");
  EXPECT_EQ(AuditEvents("release.rollout.start").size(), 2u);
  ExpectChainIntact();
}

// A browser that holds the revert and is offered the promotion of the same sequence (or the
// reverse) reports it: any signed-in caller, recorded in the audit chain as evidence; bad input
// is a 4xx naming the field, and nothing is recorded for it.
TEST_P(ReleaseRolloutTest, ManifestConflictReportsAreAuditedAndCheckedField) {
  const std::string held(64, 'a'), offered(64, 'b');
  const json report = {{"site", kSite},
                       {"sequence", 42},
                       {"held_sha256", held},
                       {"offered_sha256", offered}};
  auto r = Post("/api/v1/releases/conflicts", clinician_, report.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(Body(r), json({{"recorded", true}}));
  std::vector<json> events = AuditEvents("release.manifest.conflict");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["actor"]["name"], "nurse-a") << events[0].dump();
  EXPECT_EQ(events[0]["outcome"], "reported");
  EXPECT_EQ(events[0]["object"], "release/42");
  EXPECT_EQ(json::parse(events[0]["details"].get<std::string>()), report);

  auto refused = [&](json body, const std::string& field, int status = 422) {
    SCOPED_TRACE(body.dump());
    auto a = Post("/api/v1/releases/conflicts", auditor_, body.dump());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, status) << a->body;
    EXPECT_EQ(Body(a)["error"]["field"], field) << a->body;
  };
  auto with = [&](const std::string& key, const json& value) {
    json b = report;
    if (value.is_discarded()) {
      b.erase(key);
    } else {
      b[key] = value;
    }
    return b;
  };
  refused(with("site", "Hospital A"), "site");
  refused(with("site", json::value_t::discarded), "site");
  refused(with("sequence", 0), "sequence");
  refused(with("sequence", "42"), "sequence");
  refused(with("held_sha256", std::string(64, 'A')), "held_sha256");
  refused(with("offered_sha256", std::string(63, 'b')), "offered_sha256");
  refused(with("offered_sha256", held), "offered_sha256");  // the same bytes conflict with nothing
  refused(with("note", "x"), "note");
  auto not_object = Post("/api/v1/releases/conflicts", clinician_, "[]");
  ASSERT_TRUE(not_object);
  EXPECT_EQ(not_object->status, 422) << not_object->body;
  EXPECT_EQ(Body(not_object)["error"]["details"][0]["rule"], "type") << not_object->body;
  auto bad_json = Post("/api/v1/releases/conflicts", clinician_, "{\"site\":");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400) << bad_json->body;
  auto anonymous = Post("/api/v1/releases/conflicts", "", report.dump());
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  EXPECT_EQ(AuditEvents("release.manifest.conflict").size(), 1u);
  ExpectChainIntact();
}

// GET /releases lists each stored set with its state and the decisions taken on it, as the
// operations page shows them: who, when, and the percentages each decision moved between, the
// same events the audit chain holds.
TEST_P(ReleaseRolloutTest, ListShowsEachSetWithItsStateAndDecisions) {
  ASSERT_EQ(UploadSet(SignedSet(MakeSet(41, V1(), V2())))->status, 201);
  auto list = [&](const std::string& token) {
    auto r = Get("/api/v1/releases", token);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return r ? Body(r) : json();
  };
  EXPECT_EQ(Get("/api/v1/releases", clinician_)->status, 403);
  json set = list(auditor_)["sets"][0];
  EXPECT_EQ(set["sequence"], 41);
  EXPECT_EQ(set["site"], kSite);
  EXPECT_EQ(set["stable_version"], 1);
  EXPECT_EQ(set["candidate_version"], 2);
  EXPECT_EQ(set["steps_percent"], json({5, 25, 100}));
  EXPECT_EQ(set["state"], "uploaded");
  EXPECT_TRUE(set["candidate_percent"].is_null());
  EXPECT_TRUE(set["step_started"].is_null());
  EXPECT_EQ(set["decisions"], json::array());

  Decide(41, "start");
  json stepped = Decide(41, "step");
  Decide(41, "halt");
  ASSERT_EQ(UploadSet(SignedSet(MakeSet(43, V1(), V2())))->status, 201);
  json body = list(admin_);
  ASSERT_EQ(body["sets"].size(), 2u) << body.dump();
  set = body["sets"][0];
  EXPECT_EQ(set["state"], "halted");
  EXPECT_EQ(set["step"], 1);
  EXPECT_EQ(set["candidate_percent"], 0);
  EXPECT_EQ(set["step_started"], stepped["step_started"]);
  EXPECT_EQ(body["sets"][1]["sequence"], 43);
  EXPECT_EQ(body["sets"][1]["state"], "uploaded");

  const std::vector<std::tuple<std::string, json, int>> expected = {{"start", nullptr, 5},
                                                                    {"step", 5, 25},
                                                                    {"halt", 25, 0}};
  ASSERT_EQ(set["decisions"].size(), expected.size()) << set.dump();
  for (size_t i = 0; i < expected.size(); ++i) {
    const json& d = set["decisions"][i];
    const auto& [action, before, after] = expected[i];
    SCOPED_TRACE(action);
    EXPECT_EQ(d["action"], action);
    EXPECT_EQ(d["actor"]["role"], "admin");
    EXPECT_EQ(d["evidence"]["decision"], "manual");
    EXPECT_EQ(d["evidence"]["percent_after"], after);
    if (!before.is_null()) {
      EXPECT_EQ(d["evidence"]["percent_before"], before);
    }
    // The very event of the chain, by its seq.
    json event = Body(Get("/api/v1/audit/" + d["audit_seq"].dump(), auditor_));
    EXPECT_EQ(event["action"], "release.rollout." + action) << event.dump();
    EXPECT_EQ(event["object"], "release/41");
    EXPECT_EQ(event["time"], d["time"]);
    EXPECT_EQ(event["actor"]["name"], d["actor"]["name"]);
  }
  ExpectChainIntact();
}

// A database of schema version 6 (before releases) gains the release tables when a server of
// version 7 opens it, and the rollouts work on it.
TEST_P(ReleaseRolloutTest, Version6DatabaseGainsTheReleaseTables) {
  ASSERT_EQ(server_.Stop(), 0);
  RawSql(
      "DROP TABLE release_manifests; DROP TABLE rollouts; DROP INDEX audit_rollout_decisions;"
      "UPDATE storage_meta SET value = '6' WHERE key = 'schema_version';");
  ASSERT_TRUE(StartServer(DefaultArgs()));
  ASSERT_EQ(UploadSet(SignedSet(MakeSet(41, V1(), V2())))->status, 201);
  Decide(41, "start");
  EXPECT_EQ(Current()["sequence"], 41);
  // The step to 7 creates the decisions' index again, and the list shows the decision.
  json listed = Body(Get("/api/v1/releases", auditor_));
  ASSERT_EQ(listed["sets"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["sets"][0]["decisions"].size(), 1u) << listed.dump();
  // Opening it again changes nothing.
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(StartServer(DefaultArgs()));
  EXPECT_EQ(Current()["sequence"], 41);
}

// Automatic decisions: a candidate (version 3) in the canary cohort, exams from both cohorts,
// and a policy with a short window.
class AutomaticRolloutTest : public ReleaseRolloutTest {
 protected:
  static constexpr int kWindowSeconds = 3;
  static constexpr int kExamsPerCohort = 30;

  // Registers version 3: as version 1 when `pathological_bias` is 0, else with that much added
  // to the Pathological score of every exam (a shifted bias, the class mix moves).
  void RegisterCandidate(float pathological_bias, const std::vector<int>& steps = {5, 25, 100}) {
    Model m = TinyModel(3);
    m.base_score[2] += pathological_bias;
    std::unique_ptr<Evaluator> evaluator;
    ASSERT_TRUE(Evaluator::Create(m, &evaluator).ok());
    candidate_ = std::move(evaluator);
    bundle_v3_ = BundleBytes(m);
    auto r = Post("/api/v1/models", admin_, bundle_v3_, "application/octet-stream",
                  {{"X-Model-Signature", Sign(keys_, bundle_v3_)}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
    WriteFile(dir_ + "/data/activation-policy.json",
              json{{"enforce", false},
                   {"rollout",
                    {{"window_seconds", kWindowSeconds},
                     {"min_exams_per_cohort", kExamsPerCohort}}}}
                  .dump());
    ASSERT_EQ(UploadSet(SignedSet(MakeSet(41, V1(), V3(), steps)))->status, 201);
  }

  ReleaseModel V3() const { return Of(3, bundle_v3_); }

  // An exam as a browser running `version` (evaluated by `evaluator`) submits it; the baseline
  // varies so the model sees more than one exam.
  static json CohortExam(const std::string& id, int i, const Evaluator& evaluator,
                         int64_t version) {
    double features[kNumFeatures];
    std::copy(kExamFeatures, kExamFeatures + kNumFeatures, features);
    features[0] = 110 + (i % 40);
    return ExamAs(id, features, evaluator, version);
  }

  // Both cohorts submit kExamsPerCohort exams each.
  void SubmitBothCohorts(const std::string& tag) {
    for (int i = 0; i < kExamsPerCohort; ++i) {
      Submit(CohortExam(tag + "-stable-" + std::to_string(i), i, *evaluator_, 1), clinician_);
      Submit(CohortExam(tag + "-canary-" + std::to_string(i), i, *candidate_, 3), clinician2_);
    }
  }

  std::unique_ptr<Evaluator> candidate_;
  std::string bundle_v3_;
};

// The issue's check: a candidate that shifts the Pathological rate on the canary cohort is
// halted automatically within two windows, the revert is what browsers are then served, and
// the chain holds the decision with the measured values.
TEST_P(AutomaticRolloutTest, PathologicalShiftOnTheCanaryHaltsWithinTwoWindows) {
  RegisterCandidate(4.0f);
  Decide(41, "start");
  SubmitBothCohorts("shift");
  ASSERT_NO_FATAL_FAILURE(ExpectHaltedWithinTwoWindows(kWindowSeconds, MakeSet(41, V1(), V3())));
  EXPECT_EQ(ActiveVersion(), "1");

  const json halt = LastDecision("release.rollout.halt");
  ASSERT_TRUE(halt.is_object());
  EXPECT_EQ(halt["actor"]["role"], "system");
  EXPECT_EQ(halt["decision"], "automatic");
  EXPECT_EQ(halt["percent_before"], 5);
  EXPECT_EQ(halt["percent_after"], 0);
  EXPECT_EQ(halt["cohorts"][1]["cohort"], "canary");
  EXPECT_EQ(halt["cohorts"][1]["class_counts"][2], kExamsPerCohort) << halt.dump();
  bool mix_tripped = false;
  for (const json& signal : halt["signals"]) {
    if (signal["signal"] == "class_mix_p_value") {
      mix_tripped = signal["tripped"] == true && signal["measured"].get<double>() < 0.001;
    }
  }
  EXPECT_TRUE(mix_tripped) << halt.dump();
  ExpectChainIntact();
}

// A candidate that behaves as the stable version steps after a window, and waits at its new
// step while the canary cohort has not sent enough exams since.
TEST_P(AutomaticRolloutTest, PassingWindowStepsAndTooFewExamsWait) {
  RegisterCandidate(0.0f);
  Decide(41, "start");
  SubmitBothCohorts("same");
  json rollout = WaitForRollout(3 * kWindowSeconds + 2,
                                [](const json& r) { return r["candidate_percent"] != 5; });
  ASSERT_EQ(rollout["state"], "running") << rollout.dump();
  EXPECT_EQ(rollout["candidate_percent"], 25) << rollout.dump();
  const json step = LastDecision("release.rollout.step");
  ASSERT_TRUE(step.is_object());
  EXPECT_EQ(step["decision"], "automatic");
  EXPECT_EQ(step["enough_exams"], true);
  for (const json& signal : step["signals"]) EXPECT_EQ(signal["tripped"], false) << step.dump();

  // No canary exam since the step began: another window passes without a decision.
  std::this_thread::sleep_for(std::chrono::seconds(kWindowSeconds + 1));
  rollout = WaitForRollout(0, [](const json&) { return true; });
  EXPECT_EQ(rollout["candidate_percent"], 25) << rollout.dump();
  EXPECT_EQ(rollout["state"], "running");
  ExpectChainIntact();
}

// A one-step rollout whose canary behaves as the stable cohort is promoted by the monitor after
// its window, and the candidate becomes the registry's active version with it.
TEST_P(AutomaticRolloutTest, PassingLastWindowPromotesAndActivatesTheCandidate) {
  RegisterCandidate(0.0f, {100});
  Decide(41, "start");
  SubmitBothCohorts("promote");
  const json rollout =
      WaitForRollout(3 * kWindowSeconds + 2, [](const json& r) { return r["state"] != "running"; });
  ASSERT_EQ(rollout["state"], "promoted") << rollout.dump();
  EXPECT_EQ(Current()["kind"], "promote");
  EXPECT_EQ(ActiveVersion(), "3");
  const json promote = LastDecision("release.rollout.promote");
  ASSERT_TRUE(promote.is_object());
  EXPECT_EQ(promote["decision"], "automatic");
  EXPECT_EQ(promote["activated_version"], 3);
  std::vector<json> activations = AuditEvents("model.activate");
  ASSERT_FALSE(activations.empty());
  EXPECT_EQ(activations.back()["object"], "model/3");
  EXPECT_EQ(activations.back()["actor"]["name"], "rollout-monitor");
  EXPECT_EQ(Details(activations.back())["promoted_by"], "release/41");
  ExpectChainIntact();
}

INSTANTIATE_TEST_SUITE_P(Backends, AutomaticRolloutTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

INSTANTIATE_TEST_SUITE_P(Backends, ReleaseRolloutTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
