// Writing responses: JSON bodies and the API's one error shape
//   {"error": {"code", "message", "field"?, "details"?}}
// with the HTTP status for every StoreStatus code (docs/api.md "Errors").
//
// Thread-safety: pure functions over the response they are given.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exam_json.h"
#include "storage/store.h"

namespace httplib {
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

}  // namespace server
}  // namespace fetal
