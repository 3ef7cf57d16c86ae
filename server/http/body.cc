#include "http/body.h"

#include <httplib.h>

#include <cctype>
#include <string>

#include "http/bounded_server.h"
#include "http/json_shape.h"
#include "http/request_context.h"
#include "http/responses.h"

namespace fetal {
namespace server {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  return s.substr(start);
}

// Media type without parameters, lower case.
std::string MediaType(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  size_t semi = ct.find(';');
  if (semi != std::string::npos) ct = ct.substr(0, semi);
  return Lower(Trimmed(ct));
}

bool ParseLength(const std::string& text, size_t* out) {
  if (text.empty() || text.size() > 18) return false;
  size_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

// A refusal that leaves the body (if any) unread.
bool Refuse(httplib::Response& res, int status, const std::string& code, const std::string& message,
            const std::string& field) {
  SendError(res, status, code, message, field);
  CloseConnectionAfterResponse();
  return false;
}

}  // namespace

BodyFraming FramingOf(const httplib::Request& req) {
  BodyFraming f;
  f.chunked = req.has_header("Transfer-Encoding");
  if (!f.chunked) ParseLength(Trimmed(req.get_header_value("Content-Length")), &f.content_length);
  f.has_body = f.chunked || f.content_length > 0;
  return f;
}

bool CheckFraming(const httplib::Request& req, httplib::Response& res) {
  const std::string& method = req.method;
  // DELETE without a body reaches the routes that have one (taking a model out of shadow; the
  // router answers 405 for every other path). Other methods, and a DELETE with a body, are
  // refused before cpp-httplib would read the body without a limit.
  const bool bodiless_delete = method == "DELETE" && !FramingOf(req).has_body;
  if (method != "GET" && method != "HEAD" && method != "POST" && !bodiless_delete) {
    // Nothing here is changed or deleted through PUT/PATCH (the audit log is append-only).
    res.set_header("Allow", "GET, HEAD, POST");
    return Refuse(res, 405, "method_not_allowed",
                  method +
                      " is not supported here; the API uses GET and POST (and DELETE, "
                      "without a body, to take a model out of shadow)",
                  "");
  }
  const size_t lengths = req.get_header_value_count("Content-Length");
  const size_t codings = req.get_header_value_count("Transfer-Encoding");
  if (lengths > 1 || codings > 1 || (lengths == 1 && codings == 1)) {
    return Refuse(res, 400, "bad_request",
                  "the body's length is ambiguous: send one Content-Length or "
                  "\"Transfer-Encoding: chunked\", not several or both",
                  lengths > 1 ? "Content-Length" : "Transfer-Encoding");
  }
  if (codings == 1 && Lower(Trimmed(req.get_header_value("Transfer-Encoding"))) != "chunked") {
    return Refuse(res, 400, "bad_request",
                  "Transfer-Encoding must be \"chunked\"; other transfer codings (compression) "
                  "are not accepted",
                  "Transfer-Encoding");
  }
  size_t length = 0;
  if (lengths == 1 && !ParseLength(Trimmed(req.get_header_value("Content-Length")), &length)) {
    return Refuse(res, 400, "bad_request", "Content-Length must be a decimal number of bytes",
                  "Content-Length");
  }
  if (req.has_header("Content-Encoding")) {
    std::string coding = Lower(Trimmed(req.get_header_value("Content-Encoding")));
    if (!coding.empty() && coding != "identity") {
      // cpp-httplib would inflate it before any size limit applies.
      return Refuse(res, 415, "unsupported_media_type",
                    "compressed request bodies are not accepted (Content-Encoding: " +
                        coding.substr(0, 32) + "); send the body uncompressed",
                    "Content-Encoding");
    }
  }
  if ((method == "GET" || method == "HEAD") && (codings == 1 || length > 0)) {
    return Refuse(res, 400, "bad_request", method + " requests carry no body", "Content-Length");
  }
  return true;
}

bool AdmitBody(const httplib::Request& req, httplib::Response& res, const BodyFraming& framing,
               size_t max_body, const char* media_type) {
  const std::string& route = CurrentRequest().route;
  if (!framing.has_body) {
    if (max_body == 0 || req.has_header("Content-Length")) return true;
    // Without a length a request has no body (RFC 9112); whatever the client sends after the
    // headers would be read as its next request. Say what is missing instead.
    return Refuse(res, 411, "length_required",
                  req.method + " " + route +
                      " takes a body: send Content-Length or Transfer-Encoding: chunked",
                  "Content-Length");
  }
  if (max_body == 0) {
    return Refuse(res, 413, "payload_too_large", req.method + " " + route + " takes no body", "");
  }
  const std::string mt = MediaType(req);
  if (media_type != nullptr && mt != media_type) {
    return Refuse(res, 415, "unsupported_media_type",
                  "Content-Type must be " + std::string(media_type) + ", got " +
                      (mt.empty() ? std::string("none") : "\"" + mt.substr(0, 64) + "\""),
                  "Content-Type");
  }
  if (!framing.chunked && framing.content_length > max_body) {
    return Refuse(res, 413, "payload_too_large",
                  "the body is " + std::to_string(framing.content_length) + " bytes; " +
                      req.method + " " + route + " accepts at most " + std::to_string(max_body) +
                      " bytes",
                  "");
  }
  return true;
}

bool ReadBody(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader, const BodyFraming& framing, size_t max_body) {
  std::string body;
  if (!framing.chunked) body.reserve(framing.content_length);
  // The connection may deliver the body plus, when chunked, its framing lines: allow half the
  // limit again for those (chunks of a few bytes each are refused, not buffered).
  AllowBodyBytes(framing.chunked ? max_body + max_body / 2 + 4096 : framing.content_length);
  bool over = false;
  bool ok = reader([&](const char* data, size_t n) {
    if (n > max_body - body.size()) {
      over = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  AllowBodyBytes(0);
  if (over || (!ok && BodyBudgetExceeded())) {
    return Refuse(res, 413, "payload_too_large",
                  "the body is over the limit of " + req.method + " " + CurrentRequest().route +
                      ", " + std::to_string(max_body) + " bytes",
                  "");
  }
  if (!ok) {
    return Refuse(res, 400, "bad_request",
                  "the request body could not be read (cut short, a read timeout, or malformed "
                  "chunked encoding)",
                  "");
  }
  // cpp-httplib owns the request object (not const) and leaves req.body empty for routes with
  // a content reader; the route's handler reads the body from there as for any other route.
  const_cast<httplib::Request&>(req).body = std::move(body);
  return true;
}

bool ParseJsonBody(const httplib::Request& req, httplib::Response& res, size_t max_items,
                   nlohmann::json* out) {
  JsonShape shape;
  if (!ScanJsonShape(req.body, JsonLimits{kMaxJsonDepth, max_items, kMaxJsonStringBytes}, &shape)) {
    if (shape.too_deep) {
      SendError(res, 400, "json_too_deep",
                "the body nests arrays and objects more than " + std::to_string(kMaxJsonDepth) +
                    " levels deep (at byte " + std::to_string(shape.offset) + ")",
                "body");
    } else if (shape.string_too_long) {
      SendError(res, 413, "payload_too_large",
                "the body holds a string longer than " + std::to_string(kMaxJsonStringBytes) +
                    " bytes (starting at byte " + std::to_string(shape.offset) + ")",
                "body");
    } else {
      SendError(res, 413, "payload_too_large",
                "the body holds more than " + std::to_string(max_items) + " JSON values; " +
                    req.method + " " + CurrentRequest().route + " accepts at most that many",
                "body");
    }
    return false;
  }
  std::string what;
  try {
    *out = nlohmann::json::parse(req.body);
    return true;
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
    what = e.what();
    // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
    size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    if (what.size() > 300) what = what.substr(0, 300) + "...";  // "last read: '<token>'"
  }
  SendError(res, 400, "malformed_json", "the body is not valid JSON: " + what, "body");
  return false;
}

}  // namespace server
}  // namespace fetal
