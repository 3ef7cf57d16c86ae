// The activation gates as the routes apply them (docs/model-changes.md "Activation gates"):
// load the policy, measure the candidate's shadow record against the champion, and decide.
// Shared by POST /models/{v}/activate, POST /models?activate=true (the champion is the active
// version) and POST /releases/{sequence}/start (the champion is the release's stable version).
//
// Thread-safety: as the handlers (any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/router.h"
#include "storage/store.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace fetal {
namespace server {

// An override reason is a sentence, not a checkbox: at least this many bytes, at most the other.
inline constexpr size_t kMinOverrideReason = 20;
inline constexpr size_t kMaxOverrideReason = 2000;

// Reads the optional activation body {"override_reason": "..."}; an empty body is no override.
// False with the 400/413/422 answer written.
bool ParseActivationBody(const httplib::Request& req, httplib::Response& res,
                         std::optional<std::string>* override_reason);

// What the gates are evaluated for: making `candidate` the model against `champion`.
struct GateRequest {
  int64_t candidate = 0;
  // The version the candidate is measured against; 0: the registry's active version (an
  // activation). A rollout start names its release's stable version, whatever is active.
  int64_t champion = 0;
  // The audit event a refusal is recorded as: "model.activate" on "model/<candidate>", or
  // "release.rollout.start" on "release/<sequence>".
  std::string refusal_action;
  std::string refusal_object;
  std::optional<std::string> override_reason;
};

// What the gates decided when they let the change go ahead.
struct GateResult {
  std::string outcome;     // the audit event's outcome: "ok", or "override" past failing gates
  nlohmann::json details;  // for the audit event: champion, gate values (no sentences), policy,
                           // the override reason
  nlohmann::json report;   // for the 200 answer: champion, outcome, gates with their sentences,
                           // policy
};

// Evaluates the gates. True when the change may go ahead: every gate passed, the policy does not
// enforce, or an override reason was given. False with the answer written: 409
// activation_gates_failed listing every gate (the refusal event records the values), 500 when
// the policy file is invalid, 404 when the champion is not registered, or the store's error.
// With no champion (the registry has no active version) the comparison gates do not apply, and
// the gates say so.
bool CheckGates(const Services& svc, httplib::Response& res, const Caller& caller,
                const GateRequest& request, GateResult* result);

// CheckGates for making `version` the registry's active version (POST /models/{v}/activate,
// POST /models?activate=true); *note is what the model.activate event records.
bool CheckActivationGates(const Services& svc, httplib::Response& res, const Caller& caller,
                          int64_t version, const std::optional<std::string>& override_reason,
                          storage::ActivationNote* note, nlohmann::json* report = nullptr);

}  // namespace server
}  // namespace fetal
