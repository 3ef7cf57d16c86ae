// Who is calling: bearer-token authentication, the per-token in-flight and rate limits and the
// role check for one request, plus recording what the caller read in the audit chain.
//
// The caller's principal is its token id: exams, idempotency keys and the limits belong to it.
// A token's name is only its label (names are never reused, docs/api.md "Tokens").
//
// Thread-safety: Authenticator methods may be called concurrently (TokenCache and RateLimiter
// lock internally). Lifetime: the store must outlive the Authenticator.
#pragma once

#include <cstdint>
#include <string>

#include "auth.h"
#include "metrics.h"
#include "storage/store.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace fetal {
namespace server {

// The authenticated caller of the current request.
struct Caller {
  int64_t token_id = 0;  // the principal
  std::string name;
  Role role = Role::kClinician;
  // The actor recorded in audit events: token name, role, the request's id and the principal.
  storage::Actor actor() const;
};

class Authenticator {
 public:
  // `rate_limit` requests per second per token with bursts of `rate_burst` (0 = off), at most
  // `max_in_flight` requests of one token at once (0 = off); token lookups are cached for
  // `token_cache`; look-ups of unseen tokens are limited to `unknown_token_rate` per second
  // (TokenCache). Refusals are counted in `metrics`.
  Authenticator(storage::Store* store, Metrics* metrics, std::chrono::milliseconds token_cache,
                double rate_limit, double rate_burst, int max_in_flight, double unknown_token_rate);

  // Checks the Authorization header, takes one of the token's in-flight slots into *slot (held
  // until the slot is destroyed), then checks the token's rate limit, then that its role is in
  // `roles`. On failure writes 401 / 429 / 403 (recorded as access.denied) / 5xx and returns
  // false. The limits come before the role so refused attempts count too.
  bool Authenticate(const httplib::Request& req, httplib::Response& res, RoleSet roles,
                    Caller* caller, InFlightSlot* slot);

 private:
  storage::Store* const store_;
  Metrics* const metrics_;
  TokenCache tokens_;
  RateLimiter rate_limiter_;
  InFlightLimiter in_flight_;
  const double rate_limit_, rate_burst_;
};

// Appends an audit event for something the caller read. A read that cannot be recorded is not
// served: false, with the 503/500 already written.
bool AuditAccess(storage::Store* store, httplib::Response& res, const Caller& caller,
                 const std::string& action, const std::string& object, const std::string& outcome,
                 const std::string& details);

}  // namespace server
}  // namespace fetal
