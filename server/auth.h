// Bearer tokens, roles and the per-token rate and in-flight limits.
//
// A token is "fht_" + 43 characters of base64url (32 random bytes from OpenSSL's RAND_bytes).
// Only its hex SHA-256 is stored. Lookups go by that hash; the stored hash is then compared with
// CRYPTO_memcmp, so no timing depends on how much of a guessed secret was right.
//
// Thread-safety: the functions are pure; TokenCache and RateLimiter lock internally and may be
// used from any number of threads (a TokenBucket alone does not lock). Lifetime: a TokenCache's
// store must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "storage/store.h"

namespace fetal {
namespace server {

enum class Role { kClinician = 1, kAuditor = 2, kAdmin = 4 };
using RoleSet = unsigned;  // bit set of Role values
inline constexpr RoleSet kAnyRole = 1 | 2 | 4;
inline RoleSet Roles(Role a) { return static_cast<RoleSet>(a); }
inline RoleSet Roles(Role a, Role b) { return static_cast<RoleSet>(a) | static_cast<RoleSet>(b); }

// "clinician" | "auditor" | "admin" -> Role; false for anything else.
bool ParseRole(const std::string& name, Role* role);
const char* RoleName(Role role);

// A new random token secret. Aborts the process if the system has no randomness.
std::string GenerateToken();
// Hex SHA-256 of the secret, as stored.
std::string HashToken(const std::string& secret);
// True if `secret` has the shape GenerateToken produces (cheap pre-check before hashing).
bool LooksLikeToken(const std::string& secret);
// Constant-time equality of two equally long strings (false if lengths differ).
bool ConstantTimeEquals(const std::string& a, const std::string& b);

// A token bucket: refilled at `rate` per second up to `capacity`. It has no lock of its own; its
// owner's lock guards it. Callers read the clock before they take that lock, so `now` may be older
// than an earlier call's: such a call refills nothing and leaves `last` where it is. (A negative
// refill once emptied a bucket of 100,000 per second after a lock wait of a few milliseconds.)
struct TokenBucket {
  double tokens;
  std::chrono::steady_clock::time_point last;
  // Refills up to `now`, then takes one token when there is a whole one; true if it did.
  bool Take(std::chrono::steady_clock::time_point now, double rate, double capacity);
};

// Caches token lookups for `ttl` so a request does not cost a database read; a revoked token
// stops working within `ttl`. Hashes the database does not know are remembered too (for
// kUnknownTokenTtl, at most kMaxUnknownTokens of them), and look-ups of hashes not seen before
// are limited to `unknown_rate` per second (bursts of twice that) for the whole server, so a
// flood of made-up tokens costs the database at most that many reads.
class TokenCache {
 public:
  static constexpr std::chrono::seconds kUnknownTokenTtl{60};
  static constexpr size_t kMaxUnknownTokens = 10000;

  TokenCache(storage::Store* store, std::chrono::milliseconds ttl, double unknown_rate);
  // OK with *out filled; NotFound for unknown tokens; Unavailable when the store is down, or
  // with *throttled set when the look-up budget for unseen tokens is spent (retry in a second).
  storage::StoreStatus Find(const std::string& token_sha256, storage::TokenRecord* out,
                            bool* throttled);

 private:
  struct Entry {
    storage::TokenRecord record;
    std::chrono::steady_clock::time_point fetched;
  };
  void RememberUnknown(const std::string& hash, std::chrono::steady_clock::time_point now);

  storage::Store* store_;
  std::chrono::milliseconds ttl_;
  const double unknown_rate_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  // Unknown hashes and when they were looked up, oldest first in unknown_order_.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_;  // mu_
  std::deque<std::string> unknown_order_;                                           // mu_
  TokenBucket lookups_;  // of unseen hashes; guarded by mu_
};

// Token bucket per token id: `rate` requests per second, bursts of up to `burst`.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  // True if the request may proceed; otherwise *retry_after_s is how long to wait (>= 1).
  bool Allow(int64_t token_id, int* retry_after_s) {
    return Allow(token_id, std::chrono::steady_clock::now(), retry_after_s);
  }
  // The same at the clock reading `now`, which may be older than another caller's.
  bool Allow(int64_t token_id, std::chrono::steady_clock::time_point now, int* retry_after_s);

 private:
  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<int64_t, TokenBucket> buckets_;
};

// At most `max_per_token` requests of one token in flight at once (0 = no limit), so one token
// cannot take every worker thread or hold many large bodies at the same time.
class InFlightLimiter {
 public:
  explicit InFlightLimiter(int max_per_token) : max_(max_per_token) {}
  // True (and the slot taken) when the token has fewer than the limit in flight.
  bool TryAcquire(int64_t token_id);
  void Release(int64_t token_id);
  int max_per_token() const { return max_; }

 private:
  const int max_;
  std::mutex mu_;
  std::unordered_map<int64_t, int> in_flight_;
};

// One request's slot; released when destroyed. Not copyable.
class InFlightSlot {
 public:
  InFlightSlot() = default;
  ~InFlightSlot() { Reset(); }
  InFlightSlot(const InFlightSlot&) = delete;
  InFlightSlot& operator=(const InFlightSlot&) = delete;
  bool Acquire(InFlightLimiter* limiter, int64_t token_id);
  void Reset();

 private:
  InFlightLimiter* limiter_ = nullptr;
  int64_t token_id_ = 0;
};

}  // namespace server
}  // namespace fetal
