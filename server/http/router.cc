#include "http/router.h"

#include <httplib.h>

#include "http/body.h"
#include "http/bounded_server.h"
#include "http/query.h"
#include "http/request_context.h"
#include "http/responses.h"
#include "text/excerpt.h"

namespace fetal {
namespace server {

Router::Router(httplib::Server* http, Authenticator* auth, Services services)
    : http_(http), auth_(auth), services_(std::move(services)) {}

bool Router::Authenticate(const Route& route, const httplib::Request& req, httplib::Response& res,
                          Caller* caller, InFlightSlot* slot) {
  return route.roles == kPublic || auth_->Authenticate(req, res, route.roles, caller, slot);
}

std::function<void(const httplib::Request&, httplib::Response&)> Router::Bodiless(Route route) {
  return [this, route](const httplib::Request& req, httplib::Response& res) {
    CurrentRequest().route = route.label;
    Caller caller;
    InFlightSlot slot;
    if (CheckQueryParams(req, res, route.options.params) &&
        Authenticate(route, req, res, &caller, &slot)) {
      route.handler(services_, req, res, caller);
    }
    EncodeBody(req, res);
  };
}

void Router::Get(const std::string& pattern, const std::string& label, RoleSet roles,
                 Handler handler, RouteOptions options) {
  http_->Get(pattern, Bodiless(Route{label, roles, handler, std::move(options)}));
}

void Router::Post(const std::string& pattern, const std::string& label, RoleSet roles,
                  Handler handler, RouteOptions options) {
  Route route{label, roles, handler, std::move(options)};
  http_->Post(pattern, [this, route](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
    CurrentRequest().route = route.label;
    const BodyFraming framing = FramingOf(req);
    Caller caller;
    InFlightSlot slot;
    if (!CheckQueryParams(req, res, route.options.params) ||
        !AdmitBody(req, res, framing, route.options.max_body, route.options.media_type) ||
        !Authenticate(route, req, res, &caller, &slot)) {
      if (framing.has_body) CloseConnectionAfterResponse();  // refused unread
    } else if (!framing.has_body || ReadBody(req, res, reader, framing, route.options.max_body)) {
      route.handler(services_, req, res, caller);
    }
    EncodeBody(req, res);
  });
}

void Router::Delete(const std::string& pattern, const std::string& label, RoleSet roles,
                    Handler handler, RouteOptions options) {
  http_->Delete(pattern, Bodiless(Route{label, roles, handler, std::move(options)}));
}

void Router::RefuseOtherDeletes() {
  http_->Delete("/.*", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "GET, HEAD, POST");
    SendError(res, 405, "method_not_allowed",
              "DELETE is not supported on " + text::Excerpt(req.path, 200) +
                  "; the API uses GET and POST (and DELETE on /api/v1/models/{version}/shadow)");
    EncodeBody(req, res);
  });
}

void Router::GetAnyOtherPath(Handler handler) {
  http_->Get("/.*", [this, handler](const httplib::Request& req, httplib::Response& res) {
    handler(services_, req, res, Caller());
    EncodeBody(req, res);
  });
}

void Router::RefuseOtherPosts() {
  http_->Post("/.*", [](const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader&) {
    if (FramingOf(req).has_body) CloseConnectionAfterResponse();
    SendError(res, 404, "not_found", "no route for POST " + text::Excerpt(req.path, 200));
    EncodeBody(req, res);
  });
}

}  // namespace server
}  // namespace fetal
