// The post-market report for a person (report.html): the JSON report (post_market_report.h)
// laid out as titled sections and tables. Self-contained: inline CSS, no script, nothing fetched;
// prints on A4. Every string from the report is HTML-escaped (names and builds come from
// clients). The same JSON gives the same bytes.
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace fetal {
namespace post_market {

// Precondition: `report` is what BuildReport produced.
std::string RenderHtml(const nlohmann::json& report);

// `text` with &, <, >, " and ' replaced by character references.
std::string EscapeHtml(const std::string& text);

}  // namespace post_market
}  // namespace fetal
