// Request bodies, bounded before and while they are read (docs/api.md "Limits"):
//
// 1. CheckFraming, in the pre-routing hook (before cpp-httplib reads any body): only GET, HEAD
//    and POST; no Content-Encoding (a compressed body would be inflated by the library before
//    any limit applied); Transfer-Encoding only "chunked" and never together with
//    Content-Length; one well-formed Content-Length; no body on GET and HEAD.
// 2. AdmitBody, in a route's handler before reading: the route's media type and its size limit
//    against Content-Length.
// 3. ReadBody: reads through the route's content reader, counting, and stops at the limit
//    (chunked bodies included).
// 4. ParseJsonBody: ScanJsonShape's depth and item limits, then nlohmann::json.
//
// Each check writes the API's error response itself and returns false; a refusal that leaves
// the body unread also closes the connection after the answer (bounded_server.h).
//
// Thread-safety: functions over the request and response they are given.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace fetal {
namespace server {

// JSON bodies nested deeper than this are refused (400 json_too_deep) before they are parsed.
inline constexpr size_t kMaxJsonDepth = 16;
// JSON bodies with a longer string literal (escapes included) are refused (413) before they are
// parsed: the longest string an exam holds is its note, 4000 bytes.
inline constexpr size_t kMaxJsonStringBytes = 64 * 1024;

// How the request says its body is framed (after CheckFraming accepted it).
struct BodyFraming {
  bool has_body = false;  // Content-Length > 0, or chunked
  bool chunked = false;
  size_t content_length = 0;  // when not chunked
};
BodyFraming FramingOf(const httplib::Request& req);

bool CheckFraming(const httplib::Request& req, httplib::Response& res);

// `max_body` 0: the route takes no body (413 if one is sent). Otherwise a request without
// Content-Length or chunked encoding is 411; `media_type` (lower case, no parameters) is
// required when there is a body (415), and Content-Length must be at most `max_body` (413).
bool AdmitBody(const httplib::Request& req, httplib::Response& res, const BodyFraming& framing,
               size_t max_body, const char* media_type);

// Reads the body into req.body (the request object cpp-httplib owns; routes with a content
// reader get it empty). Precondition: AdmitBody accepted it.
bool ReadBody(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader, const BodyFraming& framing, size_t max_body);

// Parses req.body; refuses a body deeper than kMaxJsonDepth (400 json_too_deep), with more
// than `max_items` values or a string longer than kMaxJsonStringBytes (413 payload_too_large)
// before parsing; a syntax error (or a number JSON cannot hold, like 1e400) is a 400
// malformed_json whose message gives line and column.
bool ParseJsonBody(const httplib::Request& req, httplib::Response& res, size_t max_items,
                   nlohmann::json* out);

}  // namespace server
}  // namespace fetal
