#include "http/router.h"

#include <httplib.h>

#include "http/request_context.h"

namespace fetal {
namespace server {

Router::Router(httplib::Server* http, Authenticator* auth, Services services)
    : http_(http), auth_(auth), services_(std::move(services)) {}

void Router::Get(const std::string& pattern, const std::string& label, RoleSet roles,
                 Handler handler) {
  Add(false, pattern, label, roles, handler);
}

void Router::Post(const std::string& pattern, const std::string& label, RoleSet roles,
                  Handler handler) {
  Add(true, pattern, label, roles, handler);
}

void Router::Add(bool post, const std::string& pattern, const std::string& label, RoleSet roles,
                 Handler handler) {
  auto fn = [this, label, roles, handler](const httplib::Request& req, httplib::Response& res) {
    CurrentRequest().route = label;
    Caller caller;
    if (roles != kPublic && !auth_->Authenticate(req, res, roles, &caller)) return;
    handler(services_, req, res, caller);
  };
  if (post) http_->Post(pattern, fn);
  else http_->Get(pattern, fn);
}

void Router::GetAnyOtherPath(Handler handler) {
  http_->Get("/.*", [this, handler](const httplib::Request& req, httplib::Response& res) {
    handler(services_, req, res, Caller());
  });
}

}  // namespace server
}  // namespace fetal
