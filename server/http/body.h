// Request bodies: the per-route size limit, the media type, and JSON parsing. Each check writes
// the API's error response itself (413, 415, 400 malformed_json) and returns false.
//
// Thread-safety: pure functions over the request and response they are given.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace fetal {
namespace server {

// At most `limit` bytes and Content-Type `media_type` (parameters such as charset ignored).
bool RequireBody(const httplib::Request& req, httplib::Response& res, size_t limit,
                 const char* media_type);

// Parses the body; a syntax error (or a number JSON cannot hold, like 1e400) is a 400 whose
// message gives line and column.
bool ParseJsonBody(const httplib::Request& req, httplib::Response& res, nlohmann::json* out);

}  // namespace server
}  // namespace fetal
