#include "http/responses.h"

#include <httplib.h>

namespace fetal {
namespace server {

using nlohmann::json;
using Code = storage::StoreStatus::Code;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message, const std::string& field, json details) {
  json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  if (!details.is_null()) error["details"] = std::move(details);
  SendJson(res, status, json{{"error", std::move(error)}});
}

void SendStoreError(httplib::Response& res, const storage::StoreStatus& s) {
  switch (s.code()) {
    case Code::kInvalidArgument:
      SendError(res, 400, "invalid_argument", s.message(), s.field());
      return;
    case Code::kNotFound: SendError(res, 404, "not_found", s.message(), s.field()); return;
    case Code::kConflict: SendError(res, 409, "conflict", s.message(), s.field()); return;
    case Code::kUnavailable:
      res.set_header("Retry-After", "1");
      SendError(res, 503, "storage_unavailable",
                "storage is unavailable, nothing was changed; retry later: " + s.message());
      return;
    case Code::kCorruption: SendError(res, 500, "storage_corrupt", s.message()); return;
    case Code::kOk:
    case Code::kInternal: break;
  }
  SendError(res, 500, "internal", s.message());
}

void SendValidation(httplib::Response& res, const FieldErrors& errors) {
  json details = json::array();
  for (const FieldError& e : errors.listed()) details.push_back(FieldErrorToJson(e));
  const FieldError& first = errors.listed().front();
  std::string message = errors.count() == 1
                            ? first.message
                            : std::to_string(errors.count()) +
                                  " fields are invalid (see details); first: " + first.message;
  if (errors.count() > errors.listed().size()) {
    message += " (the first " + std::to_string(errors.listed().size()) + " are listed)";
  }
  SendError(res, 422, "validation_failed", message, first.field, std::move(details));
}

}  // namespace server
}  // namespace fetal
