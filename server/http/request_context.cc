#include "http/request_context.h"

#include <atomic>
#include <cstdio>
#include <random>

namespace fetal {
namespace server {
namespace {

thread_local RequestContext t_request;

std::string NewRequestId() {
  // A random prefix per process keeps ids from several instances apart in one log.
  static const std::string prefix = [] {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    return std::string(buf);
  }();
  static std::atomic<uint64_t> counter{0};
  return prefix + "-" + std::to_string(++counter);
}

// 1-64 characters of A-Za-z0-9-_. (docs/api.md).
bool ValidRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void RequestContext::Begin(const std::string& client_id) {
  active = true;
  start = std::chrono::steady_clock::now();
  request_id = ValidRequestId(client_id) ? client_id : NewRequestId();
  route = "unmatched";
  token_name.clear();
}

RequestContext& CurrentRequest() { return t_request; }

}  // namespace server
}  // namespace fetal
