#include "http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <optional>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include "fetal/evaluator.h"
#include "fetal/sha256.h"
#include "fetal/bundle.h"
#include "fetal/validator.h"

namespace fetal {
namespace server {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

namespace {

constexpr size_t kMaxBatchExams = 1000;
constexpr size_t kMaxErrorDetails = 200;
constexpr int kDefaultPageLimit = 100;

// Per-request state. cpp-httplib runs a request from pre-routing to the logger on one worker
// thread, so a thread_local is the request's context.
struct RequestContext {
  bool active = false;
  std::chrono::steady_clock::time_point start;
  std::string request_id;
  std::string route;
  std::string token_name;
};
thread_local RequestContext t_ctx;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewRequestId() {
  static const std::string prefix = [] {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    return std::string(buf);
  }();
  static std::atomic<uint64_t> counter{0};
  return prefix + "-" + std::to_string(++counter);
}

bool ValidRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& code, const std::string& message,
               const std::string& field = {}, json details = nullptr) {
  json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  if (!details.is_null()) error["details"] = std::move(details);
  SendJson(res, status, json{{"error", std::move(error)}});
}

void SendStoreError(httplib::Response& res, const StoreStatus& s) {
  switch (s.code()) {
    case Code::kInvalidArgument:
      SendError(res, 400, "invalid_argument", s.message(), s.field());
      return;
    case Code::kNotFound:
      SendError(res, 404, "not_found", s.message(), s.field());
      return;
    case Code::kConflict:
      SendError(res, 409, "conflict", s.message(), s.field());
      return;
    case Code::kUnavailable:
      res.set_header("Retry-After", "1");
      SendError(res, 503, "storage_unavailable",
                "storage is unavailable, nothing was changed; retry later: " + s.message());
      return;
    case Code::kCorruption:
      SendError(res, 500, "storage_corrupt", s.message());
      return;
    case Code::kOk:
    case Code::kInternal:
      break;
  }
  SendError(res, 500, "internal", s.message());
}

void SendValidation(httplib::Response& res, const std::vector<FieldError>& errors) {
  json details = json::array();
  for (size_t i = 0; i < errors.size() && i < kMaxErrorDetails; ++i) {
    details.push_back(FieldErrorToJson(errors[i]));
  }
  std::string message = errors.size() == 1
                            ? errors[0].message
                            : std::to_string(errors.size()) + " fields are invalid (see details); first: " +
                                  errors[0].message;
  if (errors.size() > kMaxErrorDetails) {
    message += " (" + std::to_string(kMaxErrorDetails) + " of them are listed)";
  }
  SendError(res, 422, "validation_failed", message, errors[0].field, std::move(details));
}

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Media type without parameters, lower case.
std::string MediaType(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  size_t semi = ct.find(';');
  if (semi != std::string::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.pop_back();
  for (char& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ct;
}

bool RequireBody(const httplib::Request& req, httplib::Response& res, size_t limit,
                 const char* media_type) {
  if (req.body.size() > limit) {
    SendError(res, 413, "payload_too_large",
              "the body is " + std::to_string(req.body.size()) + " bytes; " + req.method + " " +
                  t_ctx.route + " accepts at most " + std::to_string(limit) + " bytes");
    return false;
  }
  std::string mt = MediaType(req);
  if (mt != media_type) {
    SendError(res, 415, "unsupported_media_type",
              "Content-Type must be " + std::string(media_type) + ", got " +
                  (mt.empty() ? std::string("none") : "\"" + req.get_header_value("Content-Type") + "\""),
              "Content-Type");
    return false;
  }
  return true;
}

bool ParseJsonBody(const httplib::Request& req, httplib::Response& res, json* out) {
  try {
    *out = json::parse(req.body);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
    size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    SendError(res, 400, "malformed_json", "the body is not valid JSON: " + what, "body");
    return false;
  }
  return true;
}

// Decimal id from a route capture; false when it does not fit an int64 (then: 404).
bool ParseId(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Reads an optional integer query parameter in [min, max]; writes a 400 and returns false if bad.
bool QueryInt(const httplib::Request& req, httplib::Response& res, const char* name, int64_t min,
              int64_t max, std::optional<int64_t>* out) {
  if (!req.has_param(name)) return true;
  std::string v = req.get_param_value(name);
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || errno != 0 || *end != '\0' || x < min || x > max) {
    SendError(res, 400, "invalid_parameter",
              std::string("query parameter ") + name + " must be an integer from " + std::to_string(min) +
                  " to " + std::to_string(max) + ", got \"" + v + "\"",
              name);
    return false;
  }
  *out = x;
  return true;
}

bool QueryTime(const httplib::Request& req, httplib::Response& res, const char* name,
               std::optional<int64_t>* out) {
  if (!req.has_param(name)) return true;
  std::string v = req.get_param_value(name);
  int64_t ms;
  if (ParseTime(v, &ms)) {
    *out = ms;
    return true;
  }
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (!v.empty() && errno == 0 && *end == '\0' && x >= 0) {
    *out = x;
    return true;
  }
  SendError(res, 400, "invalid_parameter",
            std::string("query parameter ") + name +
                " must be an ISO 8601 time with zone (2026-11-28T13:00:00Z) or milliseconds since the epoch, got \"" +
                v + "\"",
            name);
  return false;
}

std::string QueryDetails(const httplib::Request& req) {
  json q = json::object();
  for (const auto& [k, v] : req.params) q[k] = v;
  return Dump(q);
}

bool EtagMatches(const std::string& if_none_match, const std::string& etag) {
  if (if_none_match.empty()) return false;
  std::stringstream in(if_none_match);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    item = item.substr(b, e - b + 1);
    if (item == "*") return true;
    if (item.compare(0, 2, "W/") == 0) item = item.substr(2);
    if (item == etag) return true;
  }
  return false;
}

const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

std::string RolesText(unsigned roles) {
  std::string out;
  for (Role r : {Role::kClinician, Role::kAuditor, Role::kAdmin}) {
    if (roles & static_cast<unsigned>(r)) {
      if (!out.empty()) out += " or ";
      out += RoleName(r);
    }
  }
  return out;
}

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
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<struct sockaddr_in*>(&addr)->sin_port);
    else if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<struct sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) listen(fd, 1024);
  }
  closedir(dir);
}

}  // namespace

struct ApiServer::Caller {
  int64_t token_id = 0;
  std::string name;
  Role role = Role::kClinician;
  storage::Actor actor() const { return storage::Actor{name, RoleName(role), t_ctx.request_id}; }
};

ApiServer::ApiServer(const ServerConfig& config, storage::Store* store, ModelRegistry* registry)
    : config_(config),
      store_(store),
      registry_(registry),
      static_files_(config.web_root),
      tokens_(store, std::chrono::milliseconds(config.token_cache_ms)),
      rate_limiter_(config.rate_limit, config.rate_burst),
      http_(std::make_unique<httplib::Server>()) {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  instance_ = std::string(host) + ":" + std::to_string(getpid());
  started_ms_ = NowMs();

  const int threads = config_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_tcp_nodelay(true);
  http_->set_payload_max_length(std::max({config_.max_exam_body, config_.max_batch_body, config_.max_model_body}));
  http_->set_read_timeout(config_.read_timeout_s, 0);
  http_->set_write_timeout(config_.write_timeout_s, 0);
  http_->set_keep_alive_timeout(config_.keep_alive_timeout_s);
  http_->set_keep_alive_max_count(10000);

  http_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    t_ctx.active = true;
    t_ctx.start = std::chrono::steady_clock::now();
    std::string given = req.get_header_value("X-Request-Id");
    t_ctx.request_id = ValidRequestId(given) ? given : NewRequestId();
    t_ctx.route = "unmatched";
    t_ctx.token_name.clear();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    if (t_ctx.active) res.set_header("X-Request-Id", t_ctx.request_id);
  });
  // cpp-httplib's own refusals (unknown route, body over the global limit, unparsable request)
  // arrive here with an empty body; give them the API's error shape.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.status == 304) return httplib::Server::HandlerResponse::Unhandled;
    if (req.method != "GET" && req.method != "HEAD" && req.method != "POST" && (res.status == 400 || res.status == 404)) {
      // Nothing here is changed or deleted through PUT/PATCH/DELETE (the audit log is append-only).
      res.set_header("Allow", "GET, HEAD, POST");
      SendError(res, 405, "method_not_allowed", req.method + " is not supported; the API uses GET and POST");
      return httplib::Server::HandlerResponse::Handled;
    }
    switch (res.status) {
      case 404:
        SendError(res, 404, "not_found", "no route for " + req.method + " " + req.path);
        break;
      case 413:
        SendError(res, 413, "payload_too_large", "the request body is over the server's limit");
        break;
      case 414:
        SendError(res, 414, "uri_too_long", "the request URI is too long");
        break;
      default:
        SendError(res, res.status, "bad_request", "the HTTP request could not be processed");
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
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
    if (!t_ctx.active) {  // the request never reached routing (malformed request line)
      t_ctx.start = std::chrono::steady_clock::now();
      t_ctx.request_id = NewRequestId();
      t_ctx.route = "unmatched";
      t_ctx.token_name.clear();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_ctx.start).count();
    metrics_.ObserveRequest(t_ctx.route, req.method, res.status, seconds);
    if (config_.log_requests) {
      json line = {{"time", FormatTime(NowMs())},
                   {"request_id", t_ctx.request_id},
                   {"method", req.method},
                   {"path", req.path},
                   {"route", t_ctx.route},
                   {"status", res.status},
                   {"ms", std::round(seconds * 1e6) / 1e3},
                   {"token", t_ctx.token_name.empty() ? json(nullptr) : json(t_ctx.token_name)},
                   {"remote", req.remote_addr},
                   {"bytes", res.body.size()}};
      std::string text = Dump(line);
      text += '\n';
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    t_ctx.active = false;
  });
  RegisterRoutes();
}

ApiServer::~ApiServer() = default;

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

void ApiServer::Route(const char* method, const std::string& pattern, const char* label,
                      unsigned roles, Handler handler) {
  std::string route_label = label;
  auto fn = [this, route_label, roles, handler](const httplib::Request& req, httplib::Response& res) {
    t_ctx.route = route_label;
    Caller caller;
    if (roles != 0 && !Authenticate(req, res, roles, &caller)) return;
    (this->*handler)(req, res, caller);
  };
  std::string m = method;
  if (m == "GET") http_->Get(pattern, fn);
  else if (m == "POST") http_->Post(pattern, fn);
}

bool ApiServer::Authenticate(const httplib::Request& req, httplib::Response& res, unsigned roles,
                             Caller* caller) {
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
  StoreStatus s = tokens_.Find(HashToken(secret), &token);
  if (s.code() == Code::kNotFound) return unauthorized(unknown);
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
  t_ctx.token_name = token.name;
  // Rate limit first: refused attempts (and their audit events) count against the token too.
  int retry_after = 1;
  if (!rate_limiter_.Allow(token.id, &retry_after)) {
    metrics_.CountRateLimited();
    res.set_header("Retry-After", std::to_string(retry_after));
    char limits[96];
    std::snprintf(limits, sizeof limits, "limit %g/s, burst %g", config_.rate_limit, config_.rate_burst);
    SendError(res, 429, "rate_limited",
              std::string("too many requests for this token (") + limits + "); retry after " +
                  std::to_string(retry_after) + " s");
    return false;
  }
  if ((roles & static_cast<unsigned>(role)) == 0) {
    // Attempts beyond one's role are security events: keep them in the audit chain.
    storage::AuditEvent ignored;
    store_->AppendAudit(storage::AuditEntry{caller->actor(), "access.denied", req.method + " " + t_ctx.route,
                                            "denied", "role " + token.role + " lacks " + RolesText(roles)},
                        &ignored);
    SendError(res, 403, "forbidden",
              "role " + token.role + " may not " + req.method + " " + t_ctx.route + "; it needs " +
                  RolesText(roles));
    return false;
  }
  return true;
}

void ApiServer::RegisterRoutes() {
  const unsigned kPublic = 0;
  const unsigned kClinician = Roles(Role::kClinician);
  const unsigned kAuditor = Roles(Role::kAuditor);
  const unsigned kAdmin = Roles(Role::kAdmin);
  const unsigned kExamReaders = Roles(Role::kClinician, Role::kAuditor);
  Route("GET", "/api/v1/health", "/api/v1/health", kPublic, &ApiServer::Health);
  Route("GET", "/api/v1/metrics", "/api/v1/metrics", kAdmin, &ApiServer::MetricsText);
  Route("GET", "/api/v1/session", "/api/v1/session", kAnyRole, &ApiServer::Session);
  Route("POST", "/api/v1/exams", "/api/v1/exams", kClinician, &ApiServer::SubmitExam);
  Route("POST", "/api/v1/exams:batch", "/api/v1/exams:batch", kClinician, &ApiServer::SubmitExamBatch);
  Route("GET", "/api/v1/exams", "/api/v1/exams", kExamReaders, &ApiServer::ListExams);
  Route("GET", R"(/api/v1/exams/(\d+))", "/api/v1/exams/{id}", kExamReaders, &ApiServer::GetExam);
  Route("GET", "/api/v1/audit", "/api/v1/audit", kAuditor, &ApiServer::ListAudit);
  Route("GET", "/api/v1/audit/verify", "/api/v1/audit/verify", kAuditor, &ApiServer::VerifyAudit);
  Route("GET", "/api/v1/audit/checkpoint", "/api/v1/audit/checkpoint", kAuditor, &ApiServer::CheckpointAudit);
  Route("GET", R"(/api/v1/audit/(\d+))", "/api/v1/audit/{seq}", kAuditor, &ApiServer::GetAudit);
  Route("GET", "/api/v1/models", "/api/v1/models", kPublic, &ApiServer::ListModels);
  Route("GET", "/api/v1/models/active", "/api/v1/models/active", kPublic, &ApiServer::GetActiveModel);
  Route("GET", R"(/api/v1/models/(\d+))", "/api/v1/models/{version}", kPublic, &ApiServer::GetModel);
  Route("GET", R"(/api/v1/models/(\d+)/signature)", "/api/v1/models/{version}/signature", kPublic,
        &ApiServer::GetModelSignature);
  Route("POST", "/api/v1/models", "/api/v1/models", kAdmin, &ApiServer::UploadModel);
  Route("POST", R"(/api/v1/models/(\d+)/activate)", "/api/v1/models/{version}/activate", kAdmin,
        &ApiServer::ActivateModel);
  http_->Get("/.*", [this](const httplib::Request& req, httplib::Response& res) { ServeStatic(req, res); });
}

// ---------------------------------------------------------------------------------------------

void ApiServer::Health(const httplib::Request&, httplib::Response& res, const Caller&) {
  StoreStatus ping = store_->Ping();
  json storage = {{"backend", store_->backend()}, {"ok", ping.ok()}};
  if (!ping.ok()) storage["error"] = ping.message();
  json active = nullptr;
  if (ping.ok()) {
    std::shared_ptr<const storage::ModelRecord> model;
    if (registry_->Active(&model).ok()) active = {{"version", model->version}, {"sha256", model->sha256}};
  }
  bool healthy = ping.ok() && !active.is_null();
  SendJson(res, healthy ? 200 : 503,
           json{{"status", healthy ? "ok" : "unavailable"},
                {"instance", instance_},
                {"uptime_s", (NowMs() - started_ms_) / 1000},
                {"storage", std::move(storage)},
                {"active_model", std::move(active)}});
}

void ApiServer::MetricsText(const httplib::Request&, httplib::Response& res, const Caller&) {
  std::string text = metrics_.Render();
  storage::StoreStats stats;
  StoreStatus s = store_->Stats(&stats);
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "# HELP fetal_store_up 1 if the last storage query succeeded.\n# TYPE fetal_store_up gauge\n"
                "fetal_store_up %d\n",
                s.ok() ? 1 : 0);
  text += buf;
  if (s.ok()) {
    std::snprintf(buf, sizeof buf,
                  "# HELP fetal_exams_stored Exams in the database.\n# TYPE fetal_exams_stored gauge\n"
                  "fetal_exams_stored %lld\n"
                  "# HELP fetal_exams_mismatched Stored exams whose server result disagreed with the client's.\n"
                  "# TYPE fetal_exams_mismatched gauge\nfetal_exams_mismatched %lld\n"
                  "# HELP fetal_audit_chain_length Events in the audit chain.\n"
                  "# TYPE fetal_audit_chain_length gauge\nfetal_audit_chain_length %lld\n",
                  static_cast<long long>(stats.exams), static_cast<long long>(stats.mismatches),
                  static_cast<long long>(stats.audit_length));
    text += buf;
    std::snprintf(buf, sizeof buf,
                  "# HELP fetal_store_commits_total Transactions committed by this process's store (group commit).\n"
                  "# TYPE fetal_store_commits_total counter\nfetal_store_commits_total %lld\n"
                  "# HELP fetal_store_committed_writes_total Writes carried by those transactions; "
                  "divided by commits it is the mean group size.\n"
                  "# TYPE fetal_store_committed_writes_total counter\nfetal_store_committed_writes_total %lld\n",
                  static_cast<long long>(stats.commits), static_cast<long long>(stats.committed_writes));
    text += buf;
  }
  std::shared_ptr<const storage::ModelRecord> model;
  if (registry_->Active(&model).ok()) {
    std::snprintf(buf, sizeof buf,
                  "# HELP fetal_active_model_version Registry version of the active model.\n"
                  "# TYPE fetal_active_model_version gauge\nfetal_active_model_version %lld\n",
                  static_cast<long long>(model->version));
    text += buf;
  }
  res.status = 200;
  res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
}

void ApiServer::Session(const httplib::Request&, httplib::Response& res, const Caller& caller) {
  SendJson(res, 200, json{{"token_id", caller.token_id}, {"name", caller.name}, {"role", RoleName(caller.role)}});
}

bool ApiServer::PrepareExam(const json& body, const std::string& prefix, storage::ExamInput* input,
                            json* warnings, std::vector<FieldError>* errors, StoreStatus* store_error) {
  const size_t before = errors->size();
  if (!DecodeExam(body, prefix, input, errors)) return false;
  std::shared_ptr<const LoadedModel> model;
  StoreStatus s = registry_->Get(input->model_version, &model);
  if (s.code() == Code::kNotFound) {
    errors->push_back(FieldError{prefix + "client_result.model_version", "unknown_model_version",
                                 "model version " + std::to_string(input->model_version) +
                                     " is not in the server's registry",
                                 "a version listed by GET /api/v1/models", input->model_version});
    return false;
  }
  if (!s.ok()) {
    *store_error = s;
    return false;
  }
  float features[kNumFeatures];
  for (int i = 0; i < kNumFeatures; ++i) features[i] = static_cast<float>(input->features[i]);
  std::vector<Finding> findings = ValidateExam(features, &model->model.training_range);
  FindingsToErrors(findings, prefix, errors);
  if (errors->size() != before) return false;
  *warnings = WarningsToJson(findings);
  float probabilities[kNumClasses];
  model->evaluator->Predict(features, probabilities);
  input->server_class = ArgMax(probabilities);
  double max_diff = 0;
  for (int k = 0; k < kNumClasses; ++k) {
    input->server_probabilities[k] = probabilities[k];
    max_diff = std::max(max_diff, std::fabs(input->server_probabilities[k] - input->client_probabilities[k]));
  }
  input->max_abs_diff = max_diff;
  input->agreement = input->server_class == input->client_class && max_diff <= 1e-4;
  return true;
}

void ApiServer::SubmitExam(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  if (!RequireBody(req, res, config_.max_exam_body, "application/json")) return;
  json body;
  if (!ParseJsonBody(req, res, &body)) return;
  storage::ExamInput input;
  json warnings = json::array();
  std::vector<FieldError> errors;
  StoreStatus store_error;
  if (!PrepareExam(body, "", &input, &warnings, &errors, &store_error)) {
    if (!store_error.ok()) SendStoreError(res, store_error);
    else SendValidation(res, errors);
    return;
  }
  storage::SubmitResult result;
  StoreStatus s = store_->SubmitExam(input, caller.actor(), &result);
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "idempotency_conflict", s.message(), s.field().empty() ? "client_exam_id" : s.field());
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  metrics_.CountExams(result.replayed ? 0 : 1, result.replayed ? 1 : 0,
                      !result.replayed && !result.exam.input.agreement ? 1 : 0);
  std::string out;
  AppendExamJson(result.exam, &result.replayed, Dump(warnings), &out);
  res.set_header("Location", "/api/v1/exams/" + std::to_string(result.exam.id));
  res.status = result.replayed ? 200 : 201;
  res.set_content(std::move(out), "application/json");
}

void ApiServer::SubmitExamBatch(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  if (!RequireBody(req, res, config_.max_batch_body, "application/json")) return;
  json body;
  if (!ParseJsonBody(req, res, &body)) return;
  std::vector<FieldError> errors;
  const std::string expected = "{\"exams\": [1 to 1000 exam objects]}";
  if (!body.is_object() || !body.contains("exams") || !body["exams"].is_array()) {
    errors.push_back(FieldError{"exams", "required", "the body must be an object with an \"exams\" array", expected, nullptr});
    SendValidation(res, errors);
    return;
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "exams") {
      errors.push_back(FieldError{it.key(), "unknown_field", it.key() + " is not a known field of a batch", expected, nullptr});
    }
  }
  const json& exams = body["exams"];
  if (exams.empty() || exams.size() > kMaxBatchExams) {
    errors.push_back(FieldError{"exams", "size",
                                "a batch holds 1 to 1000 exams, got " + std::to_string(exams.size()),
                                expected, nullptr});
  }
  if (!errors.empty()) {
    SendValidation(res, errors);
    return;
  }
  std::vector<storage::ExamInput> inputs(exams.size());
  std::vector<json> warnings(exams.size(), json::array());
  for (size_t i = 0; i < exams.size(); ++i) {
    StoreStatus store_error;
    PrepareExam(exams[i], "exams[" + std::to_string(i) + "].", &inputs[i], &warnings[i], &errors, &store_error);
    if (!store_error.ok()) {
      SendStoreError(res, store_error);
      return;
    }
  }
  if (!errors.empty()) {
    SendValidation(res, errors);
    return;
  }
  std::vector<storage::SubmitResult> results;
  StoreStatus s = store_->SubmitExamBatch(inputs, caller.actor(), &results);
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "idempotency_conflict", s.message(), s.field());
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  std::string exams_text = "[";
  int64_t stored = 0, replayed = 0, mismatched = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (i) exams_text += ',';
    AppendExamJson(results[i].exam, &results[i].replayed, i < warnings.size() ? Dump(warnings[i]) : "[]",
                   &exams_text);
    if (results[i].replayed) ++replayed;
    else {
      ++stored;
      if (!results[i].exam.input.agreement) ++mismatched;
    }
  }
  exams_text += ']';
  metrics_.CountExams(stored, replayed, mismatched);
  res.status = stored > 0 ? 201 : 200;
  res.set_content("{\"exams\":" + exams_text + ",\"replayed\":" + std::to_string(replayed) +
                      ",\"stored\":" + std::to_string(stored) + "}",
                  "application/json");
}

bool ApiServer::AuditRead(httplib::Response& res, const Caller& caller, const std::string& action,
                          const std::string& object, const std::string& outcome, const std::string& details) {
  storage::AuditEvent event;
  StoreStatus s = store_->AppendAudit(storage::AuditEntry{caller.actor(), action, object, outcome, details}, &event);
  if (!s.ok()) {
    // A read that cannot be recorded is not served.
    SendStoreError(res, s);
    return false;
  }
  return true;
}

void ApiServer::GetExam(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  int64_t id;
  if (!ParseId(req.matches[1], &id)) {
    SendError(res, 404, "not_found", "no exam with id " + std::string(req.matches[1]));
    return;
  }
  storage::ExamRecord exam;
  StoreStatus s = store_->GetExam(id, &exam);
  const std::string object = "exam/" + std::to_string(id);
  if (s.code() == Code::kNotFound ||
      (s.ok() && caller.role == Role::kClinician && exam.submitted_by != caller.name)) {
    // A clinician sees only their own exams; someone else's looks like no exam at all.
    if (!AuditRead(res, caller, "exam.read", object, s.ok() ? "denied" : "not_found", "")) return;
    SendError(res, 404, "not_found", "no exam with id " + std::to_string(id));
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditRead(res, caller, "exam.read", object, "ok", "")) return;
  std::string out;
  AppendExamJson(exam, nullptr, "", &out);
  res.status = 200;
  res.set_content(std::move(out), "application/json");
}

void ApiServer::ListExams(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  for (const auto& [k, v] : req.params) {
    static const char* kKnown[] = {"from", "to", "class", "model_version", "agreement", "submitted_by", "cursor", "limit"};
    bool known = false;
    for (const char* n : kKnown) known = known || k == n;
    if (!known) {
      SendError(res, 400, "invalid_parameter",
                "unknown query parameter " + k +
                    "; known: from, to, class, model_version, agreement, submitted_by, cursor, limit",
                k);
      return;
    }
  }
  storage::ExamFilter filter;
  std::optional<int64_t> limit, model_version;
  if (!QueryTime(req, res, "from", &filter.from_ms) || !QueryTime(req, res, "to", &filter.to_ms) ||
      !QueryInt(req, res, "limit", 1, 1000, &limit) ||
      !QueryInt(req, res, "model_version", 1, INT64_MAX, &model_version)) {
    return;
  }
  filter.model_version = model_version;
  if (req.has_param("class")) {
    int k = ClassIndex(req.get_param_value("class"));
    if (k < 0) {
      SendError(res, 400, "invalid_parameter",
                "query parameter class must be Normal, Suspect or Pathological, got \"" +
                    req.get_param_value("class") + "\"",
                "class");
      return;
    }
    filter.client_class = k;
  }
  if (req.has_param("agreement")) {
    std::string a = req.get_param_value("agreement");
    if (a == "match") filter.agreement = storage::Agreement::kMatch;
    else if (a == "mismatch") filter.agreement = storage::Agreement::kMismatch;
    else {
      SendError(res, 400, "invalid_parameter",
                "query parameter agreement must be match or mismatch, got \"" + a + "\"", "agreement");
      return;
    }
  }
  if (caller.role == Role::kClinician) {
    if (req.has_param("submitted_by") && req.get_param_value("submitted_by") != caller.name) {
      SendError(res, 403, "forbidden", "a clinician can list only their own exams (submitted_by=" + caller.name + ")",
                "submitted_by");
      return;
    }
    filter.submitted_by = caller.name;
  } else if (req.has_param("submitted_by")) {
    filter.submitted_by = req.get_param_value("submitted_by");
  }
  storage::ExamPage page;
  StoreStatus s = store_->ListExams(filter, req.get_param_value("cursor"),
                                    static_cast<int>(limit.value_or(kDefaultPageLimit)), &page);
  if (s.code() == Code::kInvalidArgument) {
    SendError(res, 400, "invalid_parameter", s.message(), s.field().empty() ? "cursor" : s.field());
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditRead(res, caller, "exam.list", "", "ok", QueryDetails(req))) return;
  std::string out = "{\"exams\":[";
  for (size_t i = 0; i < page.exams.size(); ++i) {
    if (i) out += ',';
    AppendExamJson(page.exams[i], nullptr, "", &out);
  }
  out += "],\"next_cursor\":";
  out += page.next_cursor.empty() ? std::string("null") : Dump(json(page.next_cursor));
  out += '}';
  res.status = 200;
  res.set_content(std::move(out), "application/json");
}

void ApiServer::ListAudit(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  std::optional<int64_t> after, limit;
  if (!QueryInt(req, res, "after", 0, INT64_MAX, &after) || !QueryInt(req, res, "limit", 1, 1000, &limit)) return;
  std::vector<storage::AuditEvent> events;
  int n = static_cast<int>(limit.value_or(kDefaultPageLimit));
  StoreStatus s = store_->ListAudit(after.value_or(0), n, &events);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditRead(res, caller, "audit.list", "", "ok", QueryDetails(req))) return;
  json out = json::array();
  for (const auto& e : events) out.push_back(AuditEventToJson(e));
  json next = events.size() == static_cast<size_t>(n) ? json(events.back().seq) : json(nullptr);
  SendJson(res, 200, json{{"events", std::move(out)}, {"next_after", next}});
}

void ApiServer::GetAudit(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  int64_t seq;
  if (!ParseId(req.matches[1], &seq)) {
    SendError(res, 404, "not_found", "no audit event with seq " + std::string(req.matches[1]));
    return;
  }
  storage::AuditEvent event;
  StoreStatus s = store_->GetAudit(seq, &event);
  const std::string object = "audit/" + std::to_string(seq);
  if (s.code() == Code::kNotFound) {
    if (!AuditRead(res, caller, "audit.read", object, "not_found", "")) return;
    SendError(res, 404, "not_found", "no audit event with seq " + std::to_string(seq));
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditRead(res, caller, "audit.read", object, "ok", "")) return;
  SendJson(res, 200, AuditEventToJson(event));
}

void ApiServer::VerifyAudit(const httplib::Request&, httplib::Response& res, const Caller& caller) {
  storage::AuditVerifyResult result;
  StoreStatus s = store_->VerifyAudit(&result);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  json out = {{"ok", result.ok}, {"length", result.length}, {"head_hash", result.head_hash}};
  if (!result.ok) {
    out["first_bad_seq"] = result.first_bad_seq;
    out["problem"] = result.problem;
  }
  if (!AuditRead(res, caller, "audit.verify", "", result.ok ? "ok" : "broken",
                 result.ok ? "length=" + std::to_string(result.length)
                           : "first_bad_seq=" + std::to_string(result.first_bad_seq))) {
    return;
  }
  SendJson(res, 200, out);
}

void ApiServer::CheckpointAudit(const httplib::Request&, httplib::Response& res, const Caller& caller) {
  storage::AuditCheckpoint cp;
  StoreStatus s = store_->Checkpoint(&cp);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditRead(res, caller, "audit.checkpoint", "", "ok", "seq=" + std::to_string(cp.seq))) return;
  SendJson(res, 200, json{{"seq", cp.seq}, {"hash", cp.hash}, {"time", FormatTime(NowMs())}});
}

// --- models ----------------------------------------------------------------------------------

namespace {

// The ETag is the bundle's own content hash (the SHA-256 it carries, docs/bundle-format.md): the
// hash the web app and `fetal-model inspect` show for a model. X-Model-Sha256 is the hash of the
// whole file, which the registry and the signature cover.
std::string ModelEtag(const storage::ModelRecord& m) {
  return "\"" +
         fetal::BundleContentHash(reinterpret_cast<const uint8_t*>(m.bundle.data()), m.bundle.size()) +
         "\"";
}

void SetModelHeaders(httplib::Response& res, const storage::ModelRecord& m) {
  res.set_header("ETag", ModelEtag(m));
  res.set_header("X-Model-Version", std::to_string(m.version));
  res.set_header("X-Model-Sha256", m.sha256);
  if (!m.signature.empty()) res.set_header("X-Model-Signature", m.signature);
}

}  // namespace

void ApiServer::ListModels(const httplib::Request&, httplib::Response& res, const Caller&) {
  std::vector<storage::ModelRecord> models;
  StoreStatus s = store_->ListModels(&models);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  json out = json::array();
  json active = nullptr;
  for (const auto& m : models) {
    out.push_back(ModelRecordToJson(m));
    if (m.active) active = m.version;
  }
  SendJson(res, 200, json{{"models", std::move(out)}, {"active_version", active}});
}

void ApiServer::GetActiveModel(const httplib::Request& req, httplib::Response& res, const Caller&) {
  std::shared_ptr<const storage::ModelRecord> model;
  StoreStatus s = registry_->Active(&model);
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", "no model is active");
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  SetModelHeaders(res, *model);
  // Browsers must revalidate every time: the active version changes without the URL changing.
  res.set_header("Cache-Control", "no-cache");
  if (EtagMatches(req.get_header_value("If-None-Match"), ModelEtag(*model))) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(model->bundle, "application/octet-stream");
}

// Reads the model version named in the path; on failure answers 404 (or the store's error) and
// returns false.
bool ApiServer::FindModelVersion(const httplib::Request& req, httplib::Response& res,
                                 storage::ModelRecord* model) {
  int64_t version;
  StoreStatus s = ParseId(req.matches[1], &version) ? store_->GetModel(version, model)
                                                     : StoreStatus::NotFound("no such version");
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", "no model version " + std::string(req.matches[1]));
    return false;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return false;
  }
  return true;
}

void ApiServer::GetModel(const httplib::Request& req, httplib::Response& res, const Caller&) {
  storage::ModelRecord model;
  if (!FindModelVersion(req, res, &model)) return;
  SetModelHeaders(res, model);
  // A version's bytes never change once registered.
  res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  if (EtagMatches(req.get_header_value("If-None-Match"), ModelEtag(model))) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(model.bundle, "application/octet-stream");
}

void ApiServer::GetModelSignature(const httplib::Request& req, httplib::Response& res, const Caller&) {
  storage::ModelRecord model;
  if (!FindModelVersion(req, res, &model)) return;
  if (model.signature.empty()) {
    SendError(res, 404, "not_found", "model version " + std::to_string(model.version) + " was registered without a signature");
    return;
  }
  SendJson(res, 200,
           json{{"version", model.version},
                {"sha256", model.sha256},
                {"signature", model.signature},
                {"algorithm", "ECDSA P-256 with SHA-256 over the bundle bytes"},
                {"encoding", "base64 of the 64-byte IEEE P1363 form (r || s), as WebCrypto verify takes"}});
}

void ApiServer::UploadModel(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  if (!RequireBody(req, res, config_.max_model_body, "application/octet-stream")) return;
  std::string signature = req.get_header_value("X-Model-Signature");
  while (!signature.empty() && (signature.back() == ' ' || signature.back() == '\n' || signature.back() == '\r')) {
    signature.pop_back();
  }
  const std::string sha256 = Sha256Hex(req.body.data(), req.body.size());
  auto refuse = [&](const UploadRefusal& why) {
    // Refused uploads are security-relevant; record them (best effort: the refusal stands anyway).
    storage::AuditEvent ignored;
    store_->AppendAudit(storage::AuditEntry{caller.actor(), "model.upload", "", "refused",
                                            why.code + ": " + why.message + " (sha256=" + sha256 + ")"},
                        &ignored);
    SendError(res, why.http_status, why.code, why.message, why.field);
  };
  Model model;
  UploadRefusal why;
  if (!registry_->CheckUpload(req.body, signature, &model, &why)) {
    refuse(why);
    return;
  }
  std::vector<storage::ModelRecord> existing;
  StoreStatus s = store_->ListModels(&existing);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  int64_t newest = 0;
  for (const auto& m : existing) newest = std::max(newest, m.version);
  if (model.model_version <= newest) {
    refuse(UploadRefusal{409, "version_not_newer",
                         "the bundle says model_version " + std::to_string(model.model_version) +
                             " but the registry already holds version " + std::to_string(newest) +
                             "; an upload needs a higher version (roll back with POST /api/v1/models/{version}/activate)",
                         "model_version"});
    return;
  }
  storage::ModelInput input;
  input.version = model.model_version;
  input.bundle = req.body;
  input.signature = signature;
  input.sha256 = sha256;
  input.metadata_json = Dump(ModelMetadata(model, req.body.size()));
  storage::ModelRecord record;
  s = store_->PutModel(input, caller.actor(), &record);
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "version_exists", s.message(), "model_version");
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (req.has_param("activate") && req.get_param_value("activate") == "true") {
    s = store_->ActivateModel(record.version, caller.actor());
    if (!s.ok()) {
      SendStoreError(res, s);
      return;
    }
    registry_->InvalidateActive();
    record.active = true;
  }
  res.set_header("Location", "/api/v1/models/" + std::to_string(record.version));
  SendJson(res, 201, ModelRecordToJson(record));
}

void ApiServer::ActivateModel(const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  int64_t version;
  if (!ParseId(req.matches[1], &version)) {
    SendError(res, 404, "not_found", "no model version " + std::string(req.matches[1]));
    return;
  }
  // Never activate a version this server could not evaluate.
  std::shared_ptr<const LoadedModel> loaded;
  StoreStatus s = registry_->Get(version, &loaded);
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", "no model version " + std::to_string(version));
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  s = store_->ActivateModel(version, caller.actor());
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  registry_->InvalidateActive();
  storage::ModelRecord record;
  s = store_->GetModel(version, &record);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  record.active = true;
  SendJson(res, 200, ModelRecordToJson(record));
}

// --- static files ----------------------------------------------------------------------------

void ApiServer::ServeStatic(const httplib::Request& req, httplib::Response& res) {
  t_ctx.route = "static";
  if (req.path == "/api" || req.path.compare(0, 5, "/api/") == 0) {
    t_ctx.route = "unmatched";
    SendError(res, 404, "not_found", "no route for " + req.method + " " + req.path);
    return;
  }
  StaticFile file;
  if (!static_files_.Resolve(req.path, &file)) {
    SendError(res, 404, "not_found",
              static_files_.enabled() ? "no file " + req.path : "this server serves no web app (no --web-root)");
    return;
  }
  res.set_header("Cache-Control", file.cache_control);
  res.set_header("ETag", file.etag);
  if (EtagMatches(req.get_header_value("If-None-Match"), file.etag)) {
    res.status = 304;
    return;
  }
  std::ifstream in(file.path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    SendError(res, 500, "internal", "cannot read " + req.path);
    return;
  }
  res.status = 200;
  res.set_content(std::move(content), file.mime.c_str());
}

}  // namespace server
}  // namespace fetal
