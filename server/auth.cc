#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "fetal/sha256.h"

namespace fetal {
namespace server {

bool ParseRole(const std::string& name, Role* role) {
  if (name == "clinician") *role = Role::kClinician;
  else if (name == "auditor") *role = Role::kAuditor;
  else if (name == "admin") *role = Role::kAdmin;
  else return false;
  return true;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kClinician: return "clinician";
    case Role::kAuditor: return "auditor";
    case Role::kAdmin: return "admin";
  }
  return "?";
}

static const char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string GenerateToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::fprintf(stderr, "fatal: RAND_bytes failed, no randomness for tokens\n");
    std::abort();
  }
  std::string out = "fht_";
  // 32 bytes = 256 bits -> 43 base64url characters (no padding).
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64Url[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kBase64Url[(acc << (6 - bits)) & 63];
  return out;
}

std::string HashToken(const std::string& secret) { return Sha256Hex(secret.data(), secret.size()); }

bool LooksLikeToken(const std::string& secret) {
  if (secret.size() != 47 || secret.compare(0, 4, "fht_") != 0) return false;
  for (size_t i = 4; i < secret.size(); ++i) {
    char c = secret[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

TokenCache::TokenCache(storage::Store* store, std::chrono::milliseconds ttl, double unknown_rate)
    : store_(store),
      ttl_(ttl),
      unknown_rate_(unknown_rate),
      lookups_{2 * unknown_rate, std::chrono::steady_clock::now()} {}

bool TokenBucket::Take(std::chrono::steady_clock::time_point now, double rate, double capacity) {
  if (now > last) {
    tokens = std::min(capacity, tokens + std::chrono::duration<double>(now - last).count() * rate);
    last = now;
  }
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

void TokenCache::RememberUnknown(const std::string& hash,
                                 std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(hash);
  if (unknown_.emplace(hash, now).second) {
    unknown_order_.push_back(hash);
    if (unknown_order_.size() > kMaxUnknownTokens) {
      unknown_.erase(unknown_order_.front());
      unknown_order_.pop_front();
    }
  } else {
    unknown_[hash] = now;
  }
}

storage::StoreStatus TokenCache::Find(const std::string& token_sha256, storage::TokenRecord* out,
                                      bool* throttled) {
  *throttled = false;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(token_sha256);
    if (it != entries_.end() && now - it->second.fetched < ttl_) {
      if (!ConstantTimeEquals(it->second.record.token_sha256, token_sha256)) {
        return storage::StoreStatus::NotFound("unknown token");
      }
      *out = it->second.record;
      return storage::StoreStatus::Ok();
    }
    auto unknown = unknown_.find(token_sha256);
    if (unknown != unknown_.end() && now - unknown->second < kUnknownTokenTtl) {
      return storage::StoreStatus::NotFound("unknown token");
    }
    // Known tokens whose cache entry expired are refreshed freely; only unseen ones count.
    if (it == entries_.end() && !lookups_.Take(now, unknown_rate_, 2 * unknown_rate_)) {
      *throttled = true;
      return storage::StoreStatus::Unavailable("too many look-ups of unknown tokens");
    }
  }
  storage::TokenRecord record;
  storage::StoreStatus s = store_->FindTokenByHash(token_sha256, &record);
  if (!s.ok()) {
    if (s.code() == storage::StoreStatus::Code::kNotFound) RememberUnknown(token_sha256, now);
    return s;
  }
  if (!ConstantTimeEquals(record.token_sha256, token_sha256)) {
    return storage::StoreStatus::NotFound("unknown token");
  }
  {
    // Kept even with ttl 0: a known hash is then re-read every time but never throttled.
    std::lock_guard<std::mutex> lock(mu_);
    entries_[token_sha256] = Entry{record, now};
  }
  *out = record;
  return s;
}

bool RateLimiter::Allow(int64_t token_id, std::chrono::steady_clock::time_point now,
                        int* retry_after_s) {
  if (rate_ <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  TokenBucket& b = buckets_.try_emplace(token_id, TokenBucket{burst_, now}).first->second;
  if (b.Take(now, rate_, burst_)) return true;
  *retry_after_s = std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
  return false;
}

bool InFlightLimiter::TryAcquire(int64_t token_id) {
  if (max_ <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  int& n = in_flight_[token_id];
  if (n >= max_) return false;
  ++n;
  return true;
}

void InFlightLimiter::Release(int64_t token_id) {
  if (max_ <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  // Entries stay (one per token that ever called: bounded by the tokens table), so the hot path
  // allocates nothing.
  auto it = in_flight_.find(token_id);
  if (it != in_flight_.end() && it->second > 0) --it->second;
}

bool InFlightSlot::Acquire(InFlightLimiter* limiter, int64_t token_id) {
  Reset();
  if (!limiter->TryAcquire(token_id)) return false;
  limiter_ = limiter;
  token_id_ = token_id;
  return true;
}

void InFlightSlot::Reset() {
  if (limiter_ != nullptr) limiter_->Release(token_id_);
  limiter_ = nullptr;
}

}  // namespace server
}  // namespace fetal
