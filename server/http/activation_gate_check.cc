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

void RecordRefusal(const Services& svc, const Caller& caller, int64_t version,
                   const std::string& details) {
  // Best effort: the refusal stands whether or not it could be recorded.
  storage::AuditEvent ignored;
  svc.store->AppendAudit(storage::AuditEntry{caller.actor(), "model.activate",
                                             "model/" + std::to_string(version), "refused",
                                             details},
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

bool CheckActivationGates(const Services& svc, httplib::Response& res, const Caller& caller,
                          int64_t version, const std::optional<std::string>& override_reason,
                          storage::ActivationNote* note) {
  ActivationPolicy policy;
  std::string error;
  if (!LoadActivationPolicy(svc.config->data_dir + "/activation-policy.json", &policy, &error)) {
    RecordRefusal(svc, caller, version,
                  Dump(json{{"policy_error", text::StorableCopy(text::Excerpt(error, 300))}}));
    SendError(res, 500, "activation_policy_invalid",
              "the activation policy cannot be read, so no version may be activated until it is "
              "fixed: " +
                  error);
    return false;
  }
  // The active model: the champion the candidate is measured against.
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
  const bool has_active = s.ok() && active_record->version != version;
  ShadowTally tally;
  if (has_active) {
    ModelVersion active;
    s = svc.registry->Get(active_record->version, &active);
    const int64_t now = text::NowMs();
    if (s.ok()) {
      s = BuildShadowTally(svc.store, active, version, now - policy.window_days * kMsPerDay,
                           now + 1, &tally);
    }
    if (!s.ok()) {
      SendStoreError(res, s);
      return false;
    }
  }
  const std::vector<Gate> gates = EvaluateGates(policy, true, has_active, tally);
  const bool passed = AllPassed(gates);
  json evidence = {{"active_version", has_active ? json(active_record->version) : json(nullptr)},
                   {"gates", GatesJson(gates, false)},
                   {"policy", PolicyJson(policy)}};
  if (!active_error.empty()) {
    evidence["active_model_error"] = text::StorableCopy(text::Excerpt(active_error, 300));
  }
  if (!passed && policy.enforce && !override_reason) {
    RecordRefusal(svc, caller, version, Dump(evidence));
    SendError(res, 409, "activation_gates_failed",
              "model version " + std::to_string(version) +
                  " does not pass the activation gates (see details.gates); shadow it longer, "
                  "or an admin may override with {\"override_reason\": \"...\"}",
              "",
              json{{"version", version},
                   {"active_version", evidence["active_version"]},
                   {"gates", GatesJson(gates)},
                   {"policy", PolicyJson(policy)}});
    return false;
  }
  if (override_reason) evidence["override_reason"] = *override_reason;
  note->outcome = !passed && override_reason ? "override" : "ok";
  note->details = Dump(evidence);
  return true;
}

}  // namespace server
}  // namespace fetal
