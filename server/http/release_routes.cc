// POST /releases (a signed set of release manifests), GET /releases, GET /releases/current,
// POST /releases/{sequence}/start|step|halt|promote, POST /releases/conflicts (docs/api.md,
// docs/rollout.md).
//
// The server verifies what it is given and publishes it byte for byte; it holds no release key,
// so it can choose among the manifests an engineer signed but never make one.
#include <httplib.h>

#include "exam_json.h"
#include "fetal/release_manifest.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"
#include "http/activation_gate_check.h"
#include "http/body.h"
#include "http/caller.h"
#include "http/etag.h"
#include "http/model_access.h"
#include "http/query.h"
#include "http/release_list.h"
#include "http/release_state.h"
#include "http/responses.h"
#include "http/router.h"
#include "model_registry.h"
#include "shadow/shadow_evaluator.h"
#include "text/excerpt.h"
#include "text/storable.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

constexpr size_t kMaxReleaseJsonItems = 256;

// A refusal has the form of a refused model upload (model_registry.h).
using Refusal = UploadRefusal;

// Reads the body's three {manifest, signature} pairs, verifies each signature against the model
// public key, parses each manifest and checks the set. False with *why.
bool ReadSignedSet(const Services& svc, const json& body, ReleaseSet* set,
                   std::vector<storage::ReleaseRecord>* records, Refusal* why) {
  const std::string expected =
      "{\"manifests\": [rollout, revert, promote], each {\"manifest\": \"<canonical JSON>\", "
      "\"signature\": \"<base64>\"}} as `fetal-model release` writes it";
  if (!body.is_object() || body.size() != 1 || !body.contains("manifests") ||
      !body["manifests"].is_array() || body["manifests"].size() != 3) {
    *why = {400, "invalid_body", "the body must be " + expected, "manifests"};
    return false;
  }
  const std::string& key = svc.registry->public_key_pem();
  ReleaseManifest* slots[] = {&set->rollout, &set->revert, &set->promote};
  for (size_t i = 0; i < 3; ++i) {
    const json& item = body["manifests"][i];
    const std::string field = "manifests[" + std::to_string(i) + "]";
    if (!item.is_object() || item.size() != 2 || !item.contains("manifest") ||
        !item["manifest"].is_string() || !item.contains("signature") ||
        !item["signature"].is_string()) {
      *why = {400, "invalid_body", field + " must be {\"manifest\": string, \"signature\": string}",
              field};
      return false;
    }
    const std::string bytes = item["manifest"].get<std::string>();
    const std::string signature = item["signature"].get<std::string>();
    // The signature first: bytes nobody signed are not worth parsing.
    if (!VerifyBytes(key, bytes, signature).ok()) {
      *why = {422, "signature_invalid",
              field + ".signature does not verify with the model public key: the manifest was " +
                  "changed after signing, or signed with another key",
              field + ".signature"};
      return false;
    }
    Status s = ParseManifest(bytes, slots[i]);
    if (!s.ok()) {
      *why = {422, "invalid_manifest", field + ": " + s.message(), field + "." + s.field()};
      return false;
    }
    storage::ReleaseRecord r;
    r.sequence = slots[i]->sequence;
    r.kind = ReleaseKindName(slots[i]->kind);
    r.site = slots[i]->site;
    r.manifest = bytes;
    r.signature = signature;
    r.steps = static_cast<int>(slots[i]->steps_percent.size());
    records->push_back(std::move(r));
  }
  Status s = CheckReleaseSet(*set);
  if (!s.ok()) {
    *why = {422, "invalid_release_set", s.message(), s.field()};
    return false;
  }
  int64_t not_after = 0;
  if (!text::ParseTime(set->rollout.not_after, &not_after) || not_after <= text::NowMs()) {
    *why = {422, "release_expired",
            "the set's not_after " + set->rollout.not_after + " has passed: sign it anew",
            "manifests[0].not_after"};
    return false;
  }
  return true;
}

// That both versions the rollout names are registered with the hashes it names.
bool CheckRegistered(const Services& svc, const ReleaseManifest& rollout, Refusal* why,
                     StoreStatus* store_error) {
  const std::pair<const ReleaseModel*, const char*> named[] =
      {{&rollout.stable, "manifests[0].stable"}, {&*rollout.candidate, "manifests[0].candidate"}};
  for (const auto& [model, field] : named) {
    storage::ModelRecord record;
    StoreStatus s = svc.store->GetModel(model->version, &record);
    if (s.code() == Code::kNotFound) {
      *why = {422, "unknown_version",
              std::string(field) + " names model version " + std::to_string(model->version) +
                  ", which is not registered: upload its bundle first (POST /api/v1/models)",
              field};
      return false;
    }
    if (!s.ok()) {
      *store_error = s;
      return false;
    }
    if (record.sha256 != model->sha256) {
      *why = {422, "hash_mismatch",
              std::string(field) + " names sha256 " + model->sha256 + " but registered version " +
                  std::to_string(model->version) + " has " + record.sha256,
              field};
      return false;
    }
  }
  return true;
}

void UploadReleaseSet(const Services& svc, const httplib::Request& req, httplib::Response& res,
                      const Caller& caller) {
  auto refuse = [&](const Refusal& why) {
    // Refused sets are security-relevant (a tampered or replayed manifest); record them (best
    // effort: the refusal stands anyway).
    storage::AuditEvent ignored;
    svc.store->AppendAudit(storage::AuditEntry{caller.actor(), "release.upload", "", "refused",
                                               why.code + ": " +
                                                   text::StorableCopy(
                                                       text::Excerpt(why.message, 300))},
                           &ignored);
    SendError(res, why.http_status, why.code, why.message, why.field);
  };
  if (svc.registry->public_key_pem().empty()) {
    refuse({403, "uploads_disabled",
            "this server has no model public key (--model-pubkey), so it cannot verify manifests",
            ""});
    return;
  }
  json body;
  if (!ParseJsonBody(req, res, kMaxReleaseJsonItems, &body)) return;
  ReleaseSet set;
  std::vector<storage::ReleaseRecord> records;
  Refusal why;
  if (!ReadSignedSet(svc, body, &set, &records, &why)) {
    refuse(why);
    return;
  }
  StoreStatus s;
  if (!CheckRegistered(svc, set.rollout, &why, &s)) {
    if (!s.ok()) {
      SendStoreError(res, s);
    } else {
      refuse(why);
    }
    return;
  }
  s = svc.store->PutReleaseSet(records, caller.actor());
  if (s.code() == Code::kConflict) {
    refuse({409, s.field() == "site" ? "wrong_site" : "sequence_not_newer", s.message(),
            "manifests[0]." + s.field()});
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  res.set_header("Location", "/api/v1/releases");
  SendJson(res, 201,
           json{{"sequence", set.rollout.sequence},
                {"site", set.rollout.site},
                {"stable_version", set.rollout.stable.version},
                {"candidate_version", set.rollout.candidate->version},
                {"steps_percent", set.rollout.steps_percent},
                {"not_after", set.rollout.not_after}});
}

void ListReleases(const Services& svc, const httplib::Request&, httplib::Response& res,
                  const Caller&) {
  json body;
  StoreStatus s = ListReleasesJson(svc.store, &body);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  SendJson(res, 200, body);
}

// What browsers fetch: the published manifest as signed, its signature, and the current step of
// its rollout (server state, not signed). Revalidated every time, like /models/active.
void CurrentRelease(const Services& svc, const httplib::Request& req, httplib::Response& res,
                    const Caller&) {
  PublishedRelease current;
  StoreStatus s = LoadPublishedRelease(svc.store, &current);
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", "no release manifest is published");
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  const std::string body = PublishedReleaseJson(current).dump();
  const std::string etag = "\"" + Sha256Hex(body.data(), body.size()) + "\"";
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache");
  if (EtagMatches(req.get_header_value("If-None-Match"), etag)) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(body, "application/json");
}

// Answers a decision taken (the rollout's new state, with `extra`'s fields) or refused.
void SendDecision(const Services& svc, httplib::Response& res, int64_t sequence, StoreStatus s,
                  const storage::RolloutRecord& rollout, const json& extra = json::object()) {
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", s.message());
    return;
  }
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "rollout_conflict", s.message(), "sequence");
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  ReleaseManifest manifest;
  s = LoadRolloutManifest(svc.store, sequence, &manifest);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  json body = RolloutJson(rollout, manifest);
  body.update(extra);
  SendJson(res, 200, body);
}

// A start passes the activation gates first, for the candidate against the release's stable
// version (the champion browsers fall back to), whichever version the registry has active; an
// admin may override them with a written reason, as an activation (activation_gate_check.h).
void StartRollout(const Services& svc, const httplib::Request& req, httplib::Response& res,
                  const Caller& caller) {
  int64_t sequence;
  if (!PathId(req, res, "release sequence", &sequence)) return;
  GateRequest gate;
  if (!ParseActivationBody(req, res, &gate.override_reason)) return;
  ReleaseManifest manifest;
  storage::RolloutRecord rollout;
  StoreStatus s = LoadRolloutManifest(svc.store, sequence, &manifest);
  if (s.ok()) {
    s = svc.store->GetRollout(sequence, &rollout);
    // Said before measuring anything: no gate could make a second start possible.
    if (s.ok()) {
      s = StoreStatus::Conflict("the rollout at sequence " + std::to_string(sequence) +
                                    " was started before",
                                "sequence");
    } else if (s.code() == Code::kNotFound) {
      s = StoreStatus::Ok();
    }
  }
  if (!s.ok()) {
    SendDecision(svc, res, sequence, s, rollout);
    return;
  }
  // The candidate must load here as a version being activated must.
  ModelVersion loaded;
  if (!ReloadModelVersion(svc, res, manifest.candidate->version, &loaded)) return;
  gate.candidate = manifest.candidate->version;
  gate.champion = manifest.stable.version;
  gate.refusal_action = "release.rollout.start";
  gate.refusal_object = "release/" + std::to_string(sequence);
  GateResult gates;
  if (!CheckGates(svc, res, caller, gate, &gates)) return;
  s = DecideRollout(svc.store, sequence, storage::RolloutAction::kStart, -1, caller.actor(),
                    json{{"decision", "manual"}, {"activation_gates", gates.details}}, &rollout,
                    gates.outcome);
  SendDecision(svc, res, sequence, s, rollout, json{{"activation_gates", gates.report}});
}

// The decisions an admin takes by hand on a started rollout; automatic ones go through the same
// DecideRollout (release_state.h) with their measured evidence.
template <storage::RolloutAction kAction>
void RolloutDecision(const Services& svc, const httplib::Request& req, httplib::Response& res,
                     const Caller& caller) {
  int64_t sequence;
  if (!PathId(req, res, "release sequence", &sequence)) return;
  storage::RolloutRecord rollout;
  StoreStatus s = DecideRollout(svc.store, sequence, kAction, -1, caller.actor(),
                                json{{"decision", "manual"}}, &rollout);
  if (s.ok() && kAction == storage::RolloutAction::kPromote) {
    svc.registry->InvalidateActive();  // the candidate is the active version now
    svc.shadow->Refresh();             // and left the shadow set if it was in it
  }
  SendDecision(svc, res, sequence, s, rollout);
}

// A browser that holds a manifest and is offered another of the same sequence with other bytes
// (a revert after a promotion, or the reverse: docs/rollout.md) refuses it and reports it here.
// Nothing is stored but the audit event: the report is evidence, not a decision.
void ReportManifestConflict(const Services& svc, const httplib::Request& req,
                            httplib::Response& res, const Caller& caller) {
  json body;
  if (!ParseJsonBody(req, res, 16, &body)) return;
  FieldErrors errors;
  auto add = [&](const std::string& field, const char* rule, const std::string& expected,
                 const json& value) {
    errors.Add(
        FieldError{field, rule, field + " must be " + expected, expected, ValueExcerpt(value)});
  };
  if (!body.is_object()) {
    const std::string expected =
        "{\"site\", \"sequence\", \"held_sha256\", \"offered_sha256\"} (docs/api.md)";
    errors.Add(FieldError{"", "type", "the request body must be a JSON object " + expected,
                          expected, ValueExcerpt(body)});
    SendValidation(res, errors);
    return;
  }
  const json& site = body.contains("site") ? body["site"] : json();
  if (!site.is_string() || !IsReleaseSite(site.get<std::string>())) {
    add("site", site.is_null() ? "required" : "format", "1 to 64 of a-z 0-9 -", site);
  }
  const json& sequence = body.contains("sequence") ? body["sequence"] : json();
  if (!sequence.is_number_integer() || sequence.get<int64_t>() < 1) {
    add("sequence", sequence.is_null() ? "required" : "range", "an integer >= 1", sequence);
  }
  for (const char* field : {"held_sha256", "offered_sha256"}) {
    const json& v = body.contains(field) ? body[field] : json();
    if (!v.is_string() || !IsLowerHex(v.get<std::string>(), 64)) {
      add(field, v.is_null() ? "required" : "format", "64 lowercase hex characters", v);
    }
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "site" && key != "sequence" && key != "held_sha256" && key != "offered_sha256") {
      add(key, "unknown_field",
          "absent: the fields are site, sequence, held_sha256, offered_sha256", value);
    }
  }
  if (errors.empty() && body["held_sha256"] == body["offered_sha256"]) {
    add("offered_sha256", "conflict", "other than held_sha256: the same bytes do not conflict",
        body["offered_sha256"]);
  }
  if (!errors.empty()) {
    SendValidation(res, errors);
    return;
  }
  const std::string object = "release/" + std::to_string(sequence.get<int64_t>());
  if (!AuditAccess(svc.store, res, caller, "release.manifest.conflict", object, "reported",
                   body.dump()))
    return;
  SendJson(res, 202, json{{"recorded", true}});
}

}  // namespace

void AddReleaseRoutes(Router* router) {
  const RoleSet kAdmin = Roles(Role::kAdmin);
  const RoleSet kReaders = Roles(Role::kAdmin) | Roles(Role::kAuditor);
  router->Get("/api/v1/releases", "/api/v1/releases", kReaders, ListReleases);
  router->Get("/api/v1/releases/current", "/api/v1/releases/current", kPublic, CurrentRelease);
  router->Post("/api/v1/releases", "/api/v1/releases", kAdmin, UploadReleaseSet,
               {{}, 65536, "application/json"});
  using storage::RolloutAction;
  router->Post(R"(/api/v1/releases/(\d+)/start)", "/api/v1/releases/{sequence}/start", kAdmin,
               StartRollout, {{}, 8192, "application/json"});
  router->Post(R"(/api/v1/releases/(\d+)/step)", "/api/v1/releases/{sequence}/step", kAdmin,
               RolloutDecision<RolloutAction::kStep>);
  router->Post(R"(/api/v1/releases/(\d+)/halt)", "/api/v1/releases/{sequence}/halt", kAdmin,
               RolloutDecision<RolloutAction::kHalt>);
  router->Post(R"(/api/v1/releases/(\d+)/promote)", "/api/v1/releases/{sequence}/promote", kAdmin,
               RolloutDecision<RolloutAction::kPromote>);
  router->Post("/api/v1/releases/conflicts", "/api/v1/releases/conflicts", kAnyRole,
               ReportManifestConflict, {{}, 4096, "application/json"});
}

}  // namespace server
}  // namespace fetal
