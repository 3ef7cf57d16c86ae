// Conditional GET: does an If-None-Match header name the current ETag? (weak "W/" forms, lists
// and "*" included).
//
// Thread-safety: pure function.
#pragma once

#include <string>

namespace fetal {
namespace server {

bool EtagMatches(const std::string& if_none_match, const std::string& etag);

}  // namespace server
}  // namespace fetal
