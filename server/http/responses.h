// Writing responses: JSON bodies and the API's one error shape
//   {"error": {"code", "message", "field"?, "details"?}}
// with the HTTP status for every StoreStatus code (docs/api.md "Errors"); and sending a body in
// the content coding the client accepts.
//
// Thread-safety: pure functions over the response they are given.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exam_json.h"
#include "storage/store.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace fetal {
namespace server {

// Compact JSON text; invalid UTF-8 in strings is replaced, never thrown on.
std::string Dump(const nlohmann::json& j);

void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message, const std::string& field = {},
               nlohmann::json details = nullptr);
// 400 / 404 / 409 / 503 (with Retry-After) / 500 for a failed store call.
void SendStoreError(httplib::Response& res, const storage::StoreStatus& s);
// 422 validation_failed listing the listed errors (at most kMaxListedFieldErrors) and naming
// how many there were. Precondition: !errors.empty().
void SendValidation(httplib::Response& res, const FieldErrors& errors);

// Sends `bytes` as the body, from the shared copy (a content provider with a length, which
// cpp-httplib sends as it is: it neither copies nor compresses it). Precondition: bytes is not
// null. Range requests are served from it as from a body.
void SendShared(httplib::Response& res, std::shared_ptr<const std::string> bytes,
                const std::string& mime);

// The last step of every answer (the router calls it after each handler, the error hook after
// its own answers): a body of a compressible type and at least kMinEncodedBody bytes goes out
// compressed, at Effort::kFast, in the coding the request's Accept-Encoding prefers, with
// "Vary: Accept-Encoding" and its ETag, if any, made weak (the same content, another
// representation, as nginx does; If-None-Match compares weakly, so it still answers 304). Every
// body then leaves through SendShared, so cpp-httplib never compresses it itself (it would with
// Brotli quality 11: content_coding.h). Does nothing to an answer without a body, or one already
// sent by SendShared or carrying a Content-Encoding.
inline constexpr size_t kMinEncodedBody = 1024;
void EncodeBody(const httplib::Request& req, httplib::Response& res);

}  // namespace server
}  // namespace fetal
