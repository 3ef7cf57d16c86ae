// GET /api/v1/reports/post-market (docs/api.md, docs/monitoring.md "Post-market report"): the
// signed post-market report of a period, as the same files `fetal-server report` writes.
#include <httplib.h>

#include <map>

#include "http/responses.h"
#include "http/router.h"
#include "post_market/post_market_files.h"

namespace fetal {
namespace server {
namespace {

using storage::StoreStatus;

constexpr char kFileExpected[] = "report.json, report.html, report.json.sig or report.html.sig";

void FieldError422(httplib::Response& res, const std::string& field, const std::string& rule,
                   const std::string& message, const std::string& expected) {
  FieldErrors errors;
  errors.Add(FieldError{field, rule, message, expected, nullptr});
  SendValidation(res, errors);
}

void GetPostMarketReport(const Services& svc, const httplib::Request& req, httplib::Response& res,
                         const Caller&) {
  for (const char* name : {"from", "to"}) {
    if (!req.has_param(name)) {
      FieldError422(res, name, "required", std::string("query parameter ") + name + " is missing",
                    "a date YYYY-MM-DD");
      return;
    }
  }
  post_market::Period period;
  std::string field, message;
  if (!post_market::ParsePeriod(req.get_param_value("from"), req.get_param_value("to"), "", &period,
                                &field, &message)) {
    FieldError422(res, field, "format", message,
                  "dates YYYY-MM-DD, from not after to, to at most " +
                      std::to_string(post_market::kMaxSpanDays) + " days after from");
    return;
  }
  const std::string file =
      req.has_param("file") ? req.get_param_value("file") : post_market::kJsonFile;
  const std::string json_sig = std::string(post_market::kJsonFile) + post_market::kSignatureSuffix;
  const std::string html_sig = std::string(post_market::kHtmlFile) + post_market::kSignatureSuffix;
  if (file != post_market::kJsonFile && file != post_market::kHtmlFile && file != json_sig &&
      file != html_sig) {
    FieldError422(res, "file", "enum", std::string("query parameter file must be ") + kFileExpected,
                  kFileExpected);
    return;
  }
  std::map<std::string, std::string> files;
  StoreStatus s = post_market::MakeReportFiles(svc.store, period, *svc.audit_signer,
                                               /*with_records=*/false, &files);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  res.status = 200;
  res.set_content(files[file], file == post_market::kJsonFile   ? "application/json"
                               : file == post_market::kHtmlFile ? "text/html; charset=utf-8"
                                                                : "text/plain; charset=utf-8");
}

}  // namespace

void AddReportRoutes(Router* router) {
  router->Get("/api/v1/reports/post-market", "/api/v1/reports/post-market", Roles(Role::kAdmin),
              GetPostMarketReport, {{"from", "to", "file"}});
}

}  // namespace server
}  // namespace fetal
