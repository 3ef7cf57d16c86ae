#include "http/caller.h"

#include <httplib.h>

#include <cctype>

#include "http/request_context.h"
#include "http/responses.h"
#include "text/number_text.h"

namespace fetal {
namespace server {

using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

namespace {

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string RolesText(RoleSet roles) {
  std::string out;
  for (Role r : {Role::kClinician, Role::kAuditor, Role::kAdmin}) {
    if (roles & static_cast<RoleSet>(r)) {
      if (!out.empty()) out += " or ";
      out += RoleName(r);
    }
  }
  return out;
}

}  // namespace

storage::Actor Caller::actor() const {
  return storage::Actor{name, RoleName(role), CurrentRequest().request_id, token_id};
}

Authenticator::Authenticator(storage::Store* store, Metrics* metrics,
                             std::chrono::milliseconds token_cache, double rate_limit,
                             double rate_burst, int max_in_flight, double unknown_token_rate)
    : store_(store),
      metrics_(metrics),
      tokens_(store, token_cache, unknown_token_rate),
      rate_limiter_(rate_limit, rate_burst),
      in_flight_(max_in_flight),
      rate_limit_(rate_limit),
      rate_burst_(rate_burst) {}

bool Authenticator::Authenticate(const httplib::Request& req, httplib::Response& res, RoleSet roles,
                                 Caller* caller, InFlightSlot* slot) {
  auto unauthorized = [&res](const std::string& message) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"fetal-health\"");
    SendError(res, 401, "unauthorized", message, "Authorization");
    return false;
  };
  std::string header = req.get_header_value("Authorization");
  if (header.empty()) {
    return unauthorized("missing Authorization header; send \"Authorization: Bearer <token>\"");
  }
  if (header.size() < 7 || !EqualsIgnoreCase(header.substr(0, 7), "Bearer ")) {
    return unauthorized("the Authorization header must be \"Bearer <token>\"");
  }
  std::string secret = header.substr(7);
  while (!secret.empty() && secret.front() == ' ') secret.erase(secret.begin());
  while (!secret.empty() && secret.back() == ' ') secret.pop_back();
  const char* unknown = "the token is unknown or revoked";
  if (!LooksLikeToken(secret)) return unauthorized(unknown);
  storage::TokenRecord token;
  bool throttled = false;
  StoreStatus s = tokens_.Find(HashToken(secret), &token, &throttled);
  if (s.code() == Code::kNotFound) return unauthorized(unknown);
  if (throttled) {
    metrics_->CountRateLimited();
    res.set_header("Retry-After", "1");
    SendError(res, 429, "rate_limited",
              "too many requests with tokens this server has not seen; retry after 1 s",
              "Authorization");
    return false;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return false;
  }
  if (token.revoked) return unauthorized(unknown);
  Role role;
  if (!ParseRole(token.role, &role)) {
    SendError(res, 500, "internal", "token " + std::to_string(token.id) + " has an unknown role");
    return false;
  }
  caller->token_id = token.id;
  caller->name = token.name;
  caller->role = role;
  RequestContext& request = CurrentRequest();
  request.token_name = token.name;
  // Limits first: refused attempts (and their audit events) count against the token too.
  if (!slot->Acquire(&in_flight_, token.id)) {
    metrics_->CountRateLimited();
    res.set_header("Retry-After", "1");
    SendError(res, 429, "too_many_in_flight",
              "this token already has " + std::to_string(in_flight_.max_per_token()) +
                  " requests in flight; wait for one to finish");
    return false;
  }
  int retry_after = 1;
  if (!rate_limiter_.Allow(token.id, &retry_after)) {
    metrics_->CountRateLimited();
    res.set_header("Retry-After", std::to_string(retry_after));
    SendError(res, 429, "rate_limited",
              "too many requests for this token (limit " + text::Readable(rate_limit_) +
                  "/s, burst " + text::Readable(rate_burst_) + "); retry after " +
                  std::to_string(retry_after) + " s");
    return false;
  }
  if ((roles & static_cast<RoleSet>(role)) == 0) {
    // Attempts beyond one's role are security events: keep them in the audit chain.
    storage::AuditEvent ignored;
    store_->AppendAudit(storage::AuditEntry{caller->actor(), "access.denied",
                                            req.method + " " + request.route, "denied",
                                            "role " + token.role + " lacks " + RolesText(roles)},
                        &ignored);
    SendError(res, 403, "forbidden",
              "role " + token.role + " may not " + req.method + " " + request.route +
                  "; it needs " + RolesText(roles));
    return false;
  }
  return true;
}

bool AuditAccess(storage::Store* store, httplib::Response& res, const Caller& caller,
                 const std::string& action, const std::string& object, const std::string& outcome,
                 const std::string& details) {
  storage::AuditEvent event;
  StoreStatus s =
      store->AppendAudit(storage::AuditEntry{caller.actor(), action, object, outcome, details},
                         &event);
  if (!s.ok()) {
    SendStoreError(res, s);
    return false;
  }
  return true;
}

}  // namespace server
}  // namespace fetal
