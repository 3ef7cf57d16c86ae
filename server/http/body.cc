#include "http/body.h"

#include <httplib.h>

#include <cctype>
#include <string>

#include "http/request_context.h"
#include "http/responses.h"

namespace fetal {
namespace server {
namespace {

// Media type without parameters, lower case.
std::string MediaType(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  size_t semi = ct.find(';');
  if (semi != std::string::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.pop_back();
  for (char& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ct;
}

}  // namespace

bool RequireBody(const httplib::Request& req, httplib::Response& res, size_t limit,
                 const char* media_type) {
  if (req.body.size() > limit) {
    SendError(res, 413, "payload_too_large",
              "the body is " + std::to_string(req.body.size()) + " bytes; " + req.method + " " +
                  CurrentRequest().route + " accepts at most " + std::to_string(limit) + " bytes");
    return false;
  }
  std::string mt = MediaType(req);
  if (mt != media_type) {
    SendError(res, 415, "unsupported_media_type",
              "Content-Type must be " + std::string(media_type) + ", got " +
                  (mt.empty() ? std::string("none")
                              : "\"" + req.get_header_value("Content-Type") + "\""),
              "Content-Type");
    return false;
  }
  return true;
}

bool ParseJsonBody(const httplib::Request& req, httplib::Response& res, nlohmann::json* out) {
  try {
    *out = nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
    size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    SendError(res, 400, "malformed_json", "the body is not valid JSON: " + what, "body");
    return false;
  }
  return true;
}

}  // namespace server
}  // namespace fetal
