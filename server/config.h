// ServerConfig: every tunable of fetal-server, with its default, its flag and its environment
// variable. Flags win over environment variables, which win over the defaults below.
//
// Thread-safety: ParseConfig reads the environment; call it before starting threads. A parsed
// ServerConfig is a plain value.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "storage/store_limits.h"

namespace fetal {
namespace server {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // --listen / FETAL_LISTEN; port 0 picks a free port
  std::string data_dir = "data";  // --data-dir / FETAL_DATA_DIR; holds fetal.db, admin-token
  std::string database_url;       // --database-url / FETAL_DATABASE_URL; postgresql://...
  // Every wait on the database is bounded (docs/api.md "Running the server"): --read-wait-ms,
  // --commit-wait-ms, --lock-timeout-ms, --statement-timeout-ms,
  // --idle-in-transaction-timeout-ms, --connect-timeout, --keepalive-idle.
  storage::StoreLimits store_limits;
  // --audit-key / FETAL_AUDIT_KEY: the PEM private key that signs audit checkpoints; empty =
  // DATA_DIR/audit-key.pem, created (0600) on first start.
  std::string audit_key_path;
  // --unknown-token-rate: database look-ups of tokens not seen before, per second for the whole
  // server (a flood of made-up tokens cannot hammer the database); bursts of twice that.
  double unknown_token_rate = 50;
  std::string web_root;            // --web-root / FETAL_WEB_ROOT; empty: no static files
  std::string model_pubkey_path;   // --model-pubkey / FETAL_MODEL_PUBKEY; PEM (SPKI)
  std::string default_model_path;  // --default-model / FETAL_DEFAULT_MODEL; BUNDLE (+.sig)
  int threads = 96;                // --threads / FETAL_THREADS; HTTP worker threads
  // A keep-alive connection holds a worker for its whole life in cpp-httplib, so the pool must
  // be larger than the expected number of concurrent connections.

  double rate_limit = 100;  // --rate-limit / FETAL_RATE_LIMIT; requests/s per token, 0 = off
  double rate_burst = 200;  // --rate-burst / FETAL_RATE_BURST; bucket size
  int max_in_flight = 16;   // --max-in-flight / FETAL_MAX_IN_FLIGHT; per token, 0 = off
  size_t max_exam_body = 64 * 1024;          // --max-exam-body; POST /exams
  size_t max_batch_body = 8 * 1024 * 1024;   // --max-batch-body; POST /exams:batch
  size_t max_model_body = 32 * 1024 * 1024;  // --max-model-body; POST /models
  int read_timeout_s = 10;                   // --read-timeout; per read on a connection
  int write_timeout_s = 10;                  // --write-timeout
  int keep_alive_timeout_s = 5;              // --keep-alive-timeout
  int token_cache_ms = 2000;  // --token-cache-ms; revocation takes effect within this time
  int model_cache_ms = 1000;  // --model-cache-ms; activation elsewhere is served within this
  // --shadow-queue / FETAL_SHADOW_QUEUE: exams waiting for shadow evaluation at most; beyond it
  // they are skipped (counted), never waited for.
  int shadow_queue = 4096;
  bool log_requests = true;  // --no-request-log disables the per-request JSON line
};

// Parses `args` (without the program name and subcommand) into *config, starting from the
// environment. Unknown flags and bad values are errors; *error then names the flag and the
// expected form. `rest` receives positional arguments.
bool ParseConfig(const std::vector<std::string>& args, ServerConfig* config,
                 std::vector<std::string>* rest, std::string* error);

// Usage text for the flags above.
std::string ConfigUsage();

// Splits "host:port" (IPv6 as "[::1]:8080"). False with *error on a malformed value.
bool SplitHostPort(const std::string& listen, std::string* host, int* port, std::string* error);

}  // namespace server
}  // namespace fetal
