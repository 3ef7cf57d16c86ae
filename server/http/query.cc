#include "http/query.h"

#include <httplib.h>

#include <cerrno>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "http/responses.h"
#include "text/time_text.h"

namespace fetal {
namespace server {

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

bool PathId(const httplib::Request& req, httplib::Response& res, const std::string& what,
            int64_t* out) {
  if (ParseId(req.matches[1], out)) return true;
  SendError(res, 404, "not_found", "no " + what + " " + std::string(req.matches[1]));
  return false;
}

bool OnlyKnownParams(const httplib::Request& req, httplib::Response& res,
                     std::initializer_list<const char*> known) {
  for (const auto& [k, v] : req.params) {
    bool found = false;
    for (const char* n : known) found = found || k == n;
    if (found) continue;
    std::string list;
    for (const char* n : known) list += (list.empty() ? "" : ", ") + std::string(n);
    SendError(res, 400, "invalid_parameter", "unknown query parameter " + k + "; known: " + list,
              k);
    return false;
  }
  return true;
}

bool QueryInt(const httplib::Request& req, httplib::Response& res, const char* name, int64_t min,
              int64_t max, std::optional<int64_t>* out) {
  if (!req.has_param(name)) return true;
  std::string v = req.get_param_value(name);
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || errno != 0 || *end != '\0' || x < min || x > max) {
    SendError(res, 400, "invalid_parameter",
              std::string("query parameter ") + name + " must be an integer from " +
                  std::to_string(min) + " to " + std::to_string(max) + ", got \"" + v + "\"",
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
  if (text::ParseTime(v, &ms)) {
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
                " must be an ISO 8601 time with zone (2026-11-28T13:00:00Z) or milliseconds since "
                "the epoch, got \"" +
                v + "\"",
            name);
  return false;
}

std::string QueryDetails(const httplib::Request& req) {
  nlohmann::json q = nlohmann::json::object();
  for (const auto& [k, v] : req.params) q[k] = v;
  return Dump(q);
}

}  // namespace server
}  // namespace fetal
