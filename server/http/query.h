// Query parameters and path captures. Each reader writes the API's 400 invalid_parameter
// response itself (naming the parameter and the expected form) and returns false; an absent
// optional parameter leaves its output unset and returns true.
//
// Thread-safety: pure functions over the request and response they are given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace fetal {
namespace server {

// Page sizes of the list routes: `limit` is 1..kMaxPageLimit, kDefaultPageLimit when absent.
inline constexpr int kDefaultPageLimit = 100;
inline constexpr int kMaxPageLimit = 1000;

// Decimal id from a route capture; false when it does not fit an int64.
bool ParseId(const std::string& text, int64_t* out);
// The id in the path's first capture; when it cannot be one, answers 404 "no <what> <capture>".
bool PathId(const httplib::Request& req, httplib::Response& res, const std::string& what,
            int64_t* out);

// Refuses any parameter not in `known` and any parameter given more than once (a filter must
// mean one thing: the one applied and the one recorded in the audit chain).
bool CheckQueryParams(const httplib::Request& req, httplib::Response& res,
                      const std::vector<std::string>& known);
// An integer in [min, max].
bool QueryInt(const httplib::Request& req, httplib::Response& res, const char* name, int64_t min,
              int64_t max, std::optional<int64_t>* out);
// An ISO 8601 time with zone or milliseconds since the epoch, as ms since the epoch.
bool QueryTime(const httplib::Request& req, httplib::Response& res, const char* name,
               std::optional<int64_t>* out);

}  // namespace server
}  // namespace fetal
