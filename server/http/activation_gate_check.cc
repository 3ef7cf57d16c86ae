#include "http/activation_gate_check.h"

#include <httplib.h>

#include "http/body.h"
#include "http/responses.h"
#include "shadow/activation_gates.h"
#include "text/excerpt.h"
#include "text/storable.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

constexpr int64_t kMsPerDay = 86400000;
constexpr size_t kMaxActivationJsonItems = 16;

void RecordRefusal(const Services& svc, const Caller& caller, const GateRequest& request,
                   const std::string& details) {
  // Best effort: the refusal stands whether or not it could be recorded.
  storage::AuditEvent ignored;
  svc.store->AppendAudit(storage::AuditEntry{caller.actor(), request.refusal_action,
                                             request.refusal_object, "refused", details},
                         &ignored);
}

}  // namespace

bool ParseActivationBody(const httplib::Request& req, httplib::Response& res,
                         std::optional<std::string>* override_reason) {
  override_reason->reset();
  if (req.body.empty()) return true;
  json body;
  if (!ParseJsonBody(req, res, kMaxActivationJsonItems, &body)) return false;
  const std::string expected = "{\"override_reason\": \"" + std::to_string(kMinOverrideReason) +
                               " to " + std::to_string(kMaxOverrideReason) +
                               " bytes of text saying why the gates are overridden\"}";
  FieldErrors errors;
  if (!body.is_object()) {
    errors.Add(FieldError{"", "type", "the body must be a JSON object", expected, nullptr});
    SendValidation(res, errors);
    return false;
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "override_reason") {
      const std::string field = text::Excerpt(it.key());
      errors.Add(FieldError{field, "unknown_field",
                            field + " is not a known field of an activation", expected, nullptr});
    }
  }
  if (body.contains("override_reason")) {
    const json& r = body["override_reason"];
    if (!r.is_string()) {
      errors.Add(FieldError{"override_reason", "type", "override_reason must be a string", expected,
                            nullptr});
    } else {
      const std::string reason = r.get<std::string>();
      size_t bad = 0;
      if (reason.size() < kMinOverrideReason || reason.size() > kMaxOverrideReason) {
        errors.Add(FieldError{"override_reason", "length",
                              "override_reason must be " + std::to_string(kMinOverrideReason) +
                                  " to " + std::to_string(kMaxOverrideReason) + " bytes, got " +
                                  std::to_string(reason.size()),
                              expected, nullptr});
      } else if (!text::IsStorableText(reason, &bad)) {
        errors.Add(FieldError{"override_reason", "text",
                              std::string("override_reason cannot be stored exactly: ") +
                                  text::UnstorableTextReason(reason, bad),
                              expected, nullptr});
      } else {
        *override_reason = reason;
      }
    }
  }
  if (!errors.empty()) {
    SendValidation(res, errors);
    return false;
  }
  return true;
}

bool CheckGates(const Services& svc, httplib::Response& res, const Caller& caller,
                const GateRequest& request, GateResult* result) {
  ActivationPolicy policy;
  std::string error;
  if (!LoadActivationPolicy(svc.config->data_dir + "/activation-policy.json", &policy, &error)) {
    RecordRefusal(svc, caller, request,
                  Dump(json{{"policy_error", text::StorableCopy(text::Excerpt(error, 300))}}));
    SendError(res, 500, "activation_policy_invalid",
              "the activation policy cannot be read, so no version may be activated until it is "
              "fixed: " +
                  error);
    return false;
  }
  // The registry's active version: the champion of an activation, and said in every answer.
  // An active model whose stored bundle no longer verifies is no champion: the admin must be
  // able to put a good version back, so it is treated as none (and said so in the evidence).
  std::shared_ptr<const storage::ModelRecord> active_record;
  StoreStatus s = svc.registry->Active(&active_record);
  std::string active_error;
  if (s.code() == Code::kCorruption) active_error = s.message();
  else if (!s.ok() && s.code() != Code::kNotFound) {
    SendStoreError(res, s);
    return false;
  }
  const int64_t active_version = s.ok() ? active_record->version : 0;
  const int64_t champion = request.champion != 0 ? request.champion : active_version;
  const bool has_champion = champion != 0 && champion != request.candidate;
  ShadowTally tally;
  if (has_champion) {
    ModelVersion champion_model;
    s = svc.registry->Get(champion, &champion_model);
    const int64_t now = text::NowMs();
    if (s.ok()) {
      s = BuildShadowTally(svc.store, champion_model, request.candidate,
                           now - policy.window_days * kMsPerDay, now + 1, &tally);
    }
    if (s.code() == Code::kNotFound) {
      SendError(res, 404, "not_found", s.message());
      return false;
    }
    if (!s.ok()) {
      SendStoreError(res, s);
      return false;
    }
  }
  const std::vector<Gate> gates = EvaluateGates(policy, true, has_champion, tally);
  const bool passed = AllPassed(gates);
  const auto version_or_null = [](int64_t v) { return v != 0 ? json(v) : json(nullptr); };
  json evidence = {{"active_version", version_or_null(active_version)},
                   {"champion_version", has_champion ? json(champion) : json(nullptr)},
                   {"gates", GatesJson(gates, false)},
                   {"policy", PolicyJson(policy)}};
  if (!active_error.empty()) {
    evidence["active_model_error"] = text::StorableCopy(text::Excerpt(active_error, 300));
  }
  json report = {{"version", request.candidate},
                 {"active_version", evidence["active_version"]},
                 {"champion_version", evidence["champion_version"]},
                 {"gates", GatesJson(gates)},
                 {"policy", PolicyJson(policy)}};
  if (!has_champion) report["note"] = kNoChampion;
  if (!passed && policy.enforce && !request.override_reason) {
    RecordRefusal(svc, caller, request, Dump(evidence));
    const std::string against =
        request.champion != 0 ? " against its release's stable version " + std::to_string(champion)
                              : "";
    SendError(res, 409, "activation_gates_failed",
              "model version " + std::to_string(request.candidate) +
                  " does not pass the activation gates" + against +
                  " (see details.gates); shadow it longer, or an admin may override with "
                  "{\"override_reason\": \"...\"}",
              "", report);
    return false;
  }
  result->outcome = !passed && request.override_reason ? "override" : "ok";
  if (request.override_reason) {
    evidence["override_reason"] = *request.override_reason;
    report["override_reason"] = *request.override_reason;
  }
  report["outcome"] = result->outcome;
  result->details = std::move(evidence);
  result->report = std::move(report);
  return true;
}

bool CheckActivationGates(const Services& svc, httplib::Response& res, const Caller& caller,
                          int64_t version, const std::optional<std::string>& override_reason,
                          storage::ActivationNote* note, json* report) {
  GateRequest request;
  request.candidate = version;
  request.refusal_action = "model.activate";
  request.refusal_object = "model/" + std::to_string(version);
  request.override_reason = override_reason;
  GateResult result;
  if (!CheckGates(svc, res, caller, request, &result)) return false;
  note->outcome = result.outcome;
  note->details = Dump(result.details);
  if (report) *report = std::move(result.report);
  return true;
}

}  // namespace server
}  // namespace fetal
