// The activation gates as the activation routes apply them (docs/model-changes.md
// "Activation gates"): load the policy, measure the candidate's shadow record against the
// active model, and decide. Shared by POST /models/{v}/activate and POST /models?activate=true.
//
// Thread-safety: as the handlers (any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

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

// Evaluates the gates for making `version` active. True when the activation may go ahead: every
// gate passed, the policy does not enforce, or an override reason was given; *note is then
// what the model.activate event records. False with the answer written: 409
// activation_gates_failed listing every gate (a "model.activate" event with outcome "refused"
// records the values), 500 when the policy file is invalid, or the store's error.
bool CheckActivationGates(const Services& svc, httplib::Response& res, const Caller& caller,
                          int64_t version, const std::optional<std::string>& override_reason,
                          storage::ActivationNote* note);

}  // namespace server
}  // namespace fetal
