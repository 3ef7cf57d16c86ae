#include "http/responses.h"

#include <httplib.h>

#include <utility>

#include "content_coding.h"

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

void SendShared(httplib::Response& res, std::shared_ptr<const std::string> bytes,
                const std::string& mime) {
  const size_t size = bytes->size();
  if (size == 0) {  // a provider of length 0 would be taken for one without a length
    res.set_content(std::string(), mime.c_str());
    return;
  }
  res.headers.erase("Content-Type");  // set_content_provider adds one; set_content replaces
  res.set_content_provider(size, mime.c_str(),
                           [bytes](size_t offset, size_t length, httplib::DataSink& sink) {
                             return sink.write(bytes->data() + offset, length);
                           });
}

void EncodeBody(const httplib::Request& req, httplib::Response& res) {
  if (res.body.empty() || res.has_header("Content-Encoding")) return;
  const std::string mime = res.get_header_value("Content-Type");
  auto bytes = std::make_shared<std::string>(std::move(res.body));
  res.body.clear();
  if (IsCompressible(mime) && bytes->size() >= kMinEncodedBody) {
    res.headers.erase("Vary");
    res.set_header("Vary", "Accept-Encoding");
    const Coding coding = PreferredCoding(req.get_header_value("Accept-Encoding"));
    auto packed = std::make_shared<std::string>();
    if (coding != Coding::kIdentity && Compress(coding, Effort::kFast, *bytes, packed.get()) &&
        packed->size() < bytes->size()) {
      bytes = std::move(packed);
      res.set_header("Content-Encoding", CodingName(coding));
      const std::string etag = res.get_header_value("ETag");
      if (!etag.empty() && etag.rfind("W/", 0) != 0) {
        res.headers.erase("ETag");
        res.set_header("ETag", "W/" + etag);
      }
    }
  }
  SendShared(res, std::move(bytes), mime);
}

}  // namespace server
}  // namespace fetal
