#include "http/etag.h"

#include <sstream>

namespace fetal {
namespace server {

bool EtagMatches(const std::string& if_none_match, const std::string& etag) {
  if (if_none_match.empty()) return false;
  std::stringstream in(if_none_match);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    item = item.substr(b, e - b + 1);
    if (item == "*") return true;
    if (item.compare(0, 2, "W/") == 0) item = item.substr(2);
    if (item == etag) return true;
  }
  return false;
}

}  // namespace server
}  // namespace fetal
