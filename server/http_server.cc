#include "http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "http/body.h"
#include "http/bounded_server.h"
#include "http/request_context.h"
#include "http/responses.h"
#include "http/router.h"
#include "text/excerpt.h"
#include "text/time_text.h"

namespace fetal {
namespace server {

using nlohmann::json;

namespace {

const char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

// cpp-httplib 0.11 listens with a backlog of 5: 64 clients connecting at once overflow it and
// the kernel drops SYNs, which clients retry after 1 s. Calling listen() again on the bound
// socket raises the backlog (Linux allows it); the socket is found by its local port.
void EnlargeListenBacklog(int port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (struct dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &addr_len) != 0) continue;
    int bound = 0;
    if (addr.ss_family == AF_INET)
      bound = ntohs(reinterpret_cast<struct sockaddr_in*>(&addr)->sin_port);
    else if (addr.ss_family == AF_INET6)
      bound = ntohs(reinterpret_cast<struct sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) listen(fd, 1024);
  }
  closedir(dir);
}

std::string InstanceName() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

ApiServer::ApiServer(const ServerConfig& config, storage::Store* store, ModelRegistry* registry,
                     const AuditSigner* audit_signer)
    : config_(config),
      static_files_(config.web_root),
      // The built app is about 0.5 MB; these bounds only matter for a web root far larger.
      compressed_files_(64 << 20, 8 << 20),
      auth_(store, &metrics_, std::chrono::milliseconds(config.token_cache_ms), config.rate_limit,
            config.rate_burst, config.max_in_flight, config.unknown_token_rate),
      http_(std::make_unique<BoundedServer>()),
      shadow_(std::make_unique<ShadowEvaluator>(store, registry, config.shadow_queue)),
      rollout_monitor_(
          std::make_unique<RolloutMonitor>(store, registry,
                                           config.data_dir + "/activation-policy.json")) {
  Services services;
  services.config = &config_;
  services.store = store;
  services.registry = registry;
  services.metrics = &metrics_;
  services.static_files = &static_files_;
  services.compressed_files = &compressed_files_;
  services.audit_signer = audit_signer;
  services.shadow = shadow_.get();
  services.instance = InstanceName();
  services.started_ms = text::NowMs();
  router_ = std::make_unique<Router>(http_.get(), &auth_, std::move(services));
  InstallHooks();
  AddExamRoutes(router_.get());
  AddAuditRoutes(router_.get());
  AddCheckpointRoutes(router_.get());
  AddModelRoutes(router_.get());
  AddShadowRoutes(router_.get());
  AddReleaseRoutes(router_.get());
  AddOutcomeRoutes(router_.get());
  AddMonitoringRoutes(router_.get());
  AddReportRoutes(router_.get());
  AddOpsRoutes(router_.get());  // last: its static files take every GET not matched before
  router_->RefuseOtherPosts();
  router_->RefuseOtherDeletes();
}

ApiServer::~ApiServer() = default;

void ApiServer::InstallHooks() {
  const int threads = config_.threads;
  http_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  http_->set_tcp_nodelay(true);
  // Every route's own limit is checked before its body is read (http/body.h); this one is
  // cpp-httplib's, a last bound should a body ever be read another way.
  http_->set_payload_max_length(
      std::max({config_.max_exam_body, config_.max_batch_body, config_.max_model_body}));
  http_->set_read_timeout(config_.read_timeout_s, 0);
  http_->set_write_timeout(config_.write_timeout_s, 0);
  http_->set_keep_alive_timeout(config_.keep_alive_timeout_s);
  http_->set_keep_alive_max_count(10000);

  // Runs after the headers and before any of the body is read (BoundedServer begins the request
  // context just before).
  http_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    // Range requests are answered with the whole representation (RFC 9110 section 14.2 lets a
    // server ignore Range). cpp-httplib would send the requested slice under the 200 every
    // handler sets, which a client takes for the whole body; nothing here needs ranges.
    const_cast<httplib::Request&>(req).ranges.clear();
    return CheckFraming(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                  : httplib::Server::HandlerResponse::Handled;
  });
  http_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    if (ClosingAfterResponse()) {
      res.headers.erase("Keep-Alive");
      res.set_header("Connection", "close");
    }
    res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    res.headers.erase("Accept-Ranges");  // the library offers "bytes" on HEAD
    res.set_header("Accept-Ranges", "none");
    const RequestContext& request = CurrentRequest();
    if (request.active) res.set_header("X-Request-Id", request.request_id);
  });
  // cpp-httplib's own refusals (unknown route, unparsable or oversized request line or headers)
  // arrive here with no body; give them the API's error shape. A route's error has its body
  // already, sent by EncodeBody; one still in res.body (the exception handler's) is encoded here.
  // "Handled" makes the library set the Content-Length of what EncodeBody left.
  http_->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        // A Range the library failed to parse (416) can leave its first ranges in req.ranges,
        // which the library would then apply to this answer.
        const_cast<httplib::Request&>(req).ranges.clear();
        if (!res.body.empty()) {
          EncodeBody(req, res);
          return httplib::Server::HandlerResponse::Handled;
        }
        if (res.content_provider_ || res.status == 304)
          return httplib::Server::HandlerResponse::Unhandled;
        // The library refused the request before routing: what follows on the connection is
        // of unknown shape, so it is closed after this answer.
        if (res.status != 404) CloseConnectionAfterResponse();
        switch (res.status) {
          case 404:
            SendError(res, 404, "not_found",
                      "no route for " + req.method + " " + text::Excerpt(req.path, 200));
            break;
          case 413:
            SendError(res, 413, "payload_too_large", "the request body is over the server's limit");
            break;
          case 414: SendError(res, 414, "uri_too_long", "the request URI is too long"); break;
          case 416:  // cpp-httplib parses Range before routing; a well-formed one is ignored
            SendError(res, 416, "invalid_range",
                      "the Range header is malformed (a well-formed one is ignored: answers are "
                      "always whole)",
                      "Range");
            break;
          case 400:
            if (HeadersTooLarge()) {
              SendError(res, 431, "headers_too_large",
                        "the request line and headers exceed " + std::to_string(kMaxHeaderBytes) +
                            " bytes",
                        "headers");
              break;
            }
            SendError(res, 400, "bad_request", "the HTTP request could not be processed");
            break;
          default:
            SendError(res, res.status, "bad_request", "the HTTP request could not be processed");
        }
        EncodeBody(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, 500, "internal", "internal error: " + what);
      });
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    RequestContext& request = CurrentRequest();
    if (!request.active)
      request.Begin("");  // the request never reached routing (malformed request line)
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - request.start).count();
    metrics_.ObserveRequest(request.route, req.method, res.status, seconds);
    if (config_.log_requests) {
      json line = {{"time", text::FormatTime(text::NowMs())},
                   {"request_id", request.request_id},
                   {"method", req.method},
                   {"path", req.path},
                   {"route", request.route},
                   {"status", res.status},
                   {"ms", std::round(seconds * 1e6) / 1e3},
                   {"token", request.token_name.empty() ? json(nullptr) : json(request.token_name)},
                   {"remote", req.remote_addr},
                   // Bodies are sent from a shared copy (EncodeBody, SendShared), not res.body.
                   {"bytes", res.body.empty() ? res.content_length_ : res.body.size()}};
      std::string text = Dump(line);
      text += '\n';
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    request.active = false;
  });
}

bool ApiServer::Bind(int* port, std::string* error) {
  std::string host;
  int wanted;
  if (!SplitHostPort(config_.listen, &host, &wanted, error)) return false;
  if (wanted == 0) {
    int bound = http_->bind_to_any_port(host);
    if (bound < 0) {
      *error = "cannot listen on " + config_.listen;
      return false;
    }
    *port = bound;
    EnlargeListenBacklog(bound);
    return true;
  }
  if (!http_->bind_to_port(host, wanted)) {
    *error = "cannot listen on " + config_.listen + " (in use, or not a local address?)";
    return false;
  }
  *port = wanted;
  EnlargeListenBacklog(wanted);
  return true;
}

void ApiServer::Run() { http_->listen_after_bind(); }

void ApiServer::Stop() { http_->stop(); }

}  // namespace server
}  // namespace fetal
