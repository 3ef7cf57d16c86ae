#include "http/query.h"

#include <httplib.h>

#include <map>

#include "http/responses.h"
#include "text/excerpt.h"
#include "text/time_text.h"

namespace fetal {
namespace server {

namespace {

// Strict decimal: an optional '-' and 1 to 18 digits, nothing else (no spaces, no '+', no NUL).
bool ParseDecimal(const std::string& text, int64_t* out) {
  size_t i = text.size() > 0 && text[0] == '-' ? 1 : 0;
  if (text.size() == i || text.size() - i > 18) return false;
  int64_t v = 0;
  for (size_t k = i; k < text.size(); ++k) {
    if (text[k] < '0' || text[k] > '9') return false;
    v = v * 10 + (text[k] - '0');
  }
  *out = i ? -v : v;
  return true;
}

}  // namespace

bool ParseId(const std::string& text, int64_t* out) {
  return !text.empty() && text[0] != '-' && ParseDecimal(text, out);
}

bool PathId(const httplib::Request& req, httplib::Response& res, const std::string& what,
            int64_t* out) {
  if (ParseId(req.matches[1], out)) return true;
  SendError(res, 404, "not_found", "no " + what + " " + text::Excerpt(std::string(req.matches[1])));
  return false;
}

bool CheckQueryParams(const httplib::Request& req, httplib::Response& res,
                      const std::vector<std::string>& known) {
  // Counted on the raw query: cpp-httplib drops a "name=value" pair repeated verbatim.
  std::map<std::string, int> counts;
  const size_t question = req.target.find('?');
  if (question != std::string::npos) {
    const std::string query = req.target.substr(question + 1);
    for (size_t start = 0; start <= query.size();) {
      size_t end = query.find('&', start);
      if (end == std::string::npos) end = query.size();
      const std::string pair = query.substr(start, end - start);
      if (!pair.empty())
        ++counts[httplib::detail::decode_url(pair.substr(0, pair.find('=')), true)];
      start = end + 1;
    }
  }
  for (const auto& [name, count] : counts) {
    const std::string shown = text::Excerpt(name);
    bool found = false;
    for (const std::string& n : known) found = found || name == n;
    if (!found) {
      std::string list;
      for (const std::string& n : known) list += (list.empty() ? "" : ", ") + n;
      SendError(res, 400, "invalid_parameter",
                "unknown query parameter \"" + shown + "\"; " +
                    (list.empty() ? "this route takes none" : "known: " + list),
                shown);
      return false;
    }
    if (count > 1) {
      SendError(res, 400, "invalid_parameter",
                "query parameter " + name + " is given " + std::to_string(count) +
                    " times; give it once",
                name);
      return false;
    }
  }
  return true;
}

bool QueryInt(const httplib::Request& req, httplib::Response& res, const char* name, int64_t min,
              int64_t max, std::optional<int64_t>* out) {
  if (!req.has_param(name)) return true;
  std::string v = req.get_param_value(name);
  int64_t x = 0;
  if (!ParseDecimal(v, &x) || x < min || x > max) {
    SendError(res, 400, "invalid_parameter",
              std::string("query parameter ") + name + " must be an integer from " +
                  std::to_string(min) + " to " + std::to_string(max) + ", got \"" +
                  text::Excerpt(v) + "\"",
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
  int64_t x = 0;
  if (ParseDecimal(v, &x) && x >= 0) {
    *out = x;
    return true;
  }
  SendError(res, 400, "invalid_parameter",
            std::string("query parameter ") + name +
                " must be an ISO 8601 time with zone (2026-11-28T13:00:00Z) or milliseconds since "
                "the epoch, got \"" +
                text::Excerpt(v) + "\"",
            name);
  return false;
}

}  // namespace server
}  // namespace fetal
