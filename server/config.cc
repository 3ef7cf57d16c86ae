#include "config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

namespace fetal {
namespace server {
namespace {

bool ParseInt(const std::string& text, long min, long max, long* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& text, double min, double max, double* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < min || v > max) return false;
  *out = v;
  return true;
}

bool SetInt(const std::string& text, long min, long max, int* out) {
  long v;
  if (!ParseInt(text, min, max, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

struct Option {
  const char* flag;
  const char* env;
  const char* expected;  // for error messages and usage
  std::function<bool(const std::string&, ServerConfig*)> set;
};

const std::vector<Option>& Options() {
  static const std::vector<Option> options = {
      {"--listen", "FETAL_LISTEN", "HOST:PORT, e.g. 127.0.0.1:8080 (port 0 = any free port)",
       [](const std::string& v, ServerConfig* c) {
         std::string host, error;
         int port;
         if (!SplitHostPort(v, &host, &port, &error)) return false;
         c->listen = v;
         return true;
       }},
      {"--data-dir", "FETAL_DATA_DIR", "a directory (created if missing)",
       [](const std::string& v, ServerConfig* c) {
         c->data_dir = v;
         return !v.empty();
       }},
      {"--database-url", "FETAL_DATABASE_URL",
       "postgresql://... (PostgreSQL) or empty (SQLite file in the data directory)",
       [](const std::string& v, ServerConfig* c) {
         c->database_url = v;
         return true;
       }},
      {"--read-wait-ms", "FETAL_READ_WAIT_MS", "milliseconds, 1 to 600000",
       [](const std::string& v, ServerConfig* c) {
         return SetInt(v, 1, 600000, &c->store_limits.read_wait_ms);
       }},
      {"--commit-wait-ms", "FETAL_COMMIT_WAIT_MS", "milliseconds, 1 to 600000",
       [](const std::string& v, ServerConfig* c) {
         return SetInt(v, 1, 600000, &c->store_limits.commit_wait_ms);
       }},
      {"--lock-timeout-ms", "FETAL_LOCK_TIMEOUT_MS", "milliseconds, 1 to 600000",
       [](const std::string& v, ServerConfig* c) {
         return SetInt(v, 1, 600000, &c->store_limits.lock_timeout_ms);
       }},
      {"--statement-timeout-ms", "FETAL_STATEMENT_TIMEOUT_MS", "milliseconds, 1 to 3600000",
       [](const std::string& v, ServerConfig* c) {
         return SetInt(v, 1, 3600000, &c->store_limits.statement_timeout_ms);
       }},
      {"--idle-in-transaction-timeout-ms", "FETAL_IDLE_IN_TRANSACTION_TIMEOUT_MS",
       "milliseconds, 1 to 3600000",
       [](const std::string& v, ServerConfig* c) {
         return SetInt(v, 1, 3600000, &c->store_limits.idle_in_transaction_timeout_ms);
       }},
      {"--connect-timeout", "FETAL_CONNECT_TIMEOUT", "seconds, 1 to 600",
       [](const std::string& v, ServerConfig* c) {
         return SetInt(v, 1, 600, &c->store_limits.connect_timeout_s);
       }},
      {"--keepalive-idle", "FETAL_KEEPALIVE_IDLE", "seconds, 1 to 7200",
       [](const std::string& v, ServerConfig* c) {
         return SetInt(v, 1, 7200, &c->store_limits.keepalive_idle_s);
       }},
      {"--audit-key", "FETAL_AUDIT_KEY",
       "a PEM private key file (ECDSA P-256, mode 0600) that signs audit checkpoints",
       [](const std::string& v, ServerConfig* c) {
         c->audit_key_path = v;
         return !v.empty();
       }},
      {"--unknown-token-rate", "FETAL_UNKNOWN_TOKEN_RATE",
       "database look-ups of unseen tokens per second, 1 to 100000",
       [](const std::string& v, ServerConfig* c) {
         return ParseDouble(v, 1, 100000, &c->unknown_token_rate);
       }},
      {"--web-root", "FETAL_WEB_ROOT", "a directory of static files (the web app build)",
       [](const std::string& v, ServerConfig* c) {
         c->web_root = v;
         return true;
       }},
      {"--model-pubkey", "FETAL_MODEL_PUBKEY", "a PEM public key file (ECDSA P-256, SPKI)",
       [](const std::string& v, ServerConfig* c) {
         c->model_pubkey_path = v;
         return true;
       }},
      {"--default-model", "FETAL_DEFAULT_MODEL",
       "a model bundle file; its signature is read from BUNDLE.sig",
       [](const std::string& v, ServerConfig* c) {
         c->default_model_path = v;
         return true;
       }},
      {"--threads", "FETAL_THREADS", "an integer from 2 to 4096",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 2, 4096, &n)) return false;
         c->threads = static_cast<int>(n);
         return true;
       }},
      {"--rate-limit", "FETAL_RATE_LIMIT", "requests per second per token, 0 = unlimited",
       [](const std::string& v, ServerConfig* c) {
         return ParseDouble(v, 0, 1e9, &c->rate_limit);
       }},
      {"--rate-burst", "FETAL_RATE_BURST", "a number of requests >= 1",
       [](const std::string& v, ServerConfig* c) {
         return ParseDouble(v, 1, 1e9, &c->rate_burst);
       }},
      {"--max-in-flight", "FETAL_MAX_IN_FLIGHT",
       "requests of one token being served at once, 0 to 4096 (0 = unlimited)",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 0, 4096, &n)) return false;
         c->max_in_flight = static_cast<int>(n);
         return true;
       }},
      {"--max-exam-body", "FETAL_MAX_EXAM_BODY", "bytes, 1024 to 1073741824",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 1024, 1L << 30, &n)) return false;
         c->max_exam_body = static_cast<size_t>(n);
         return true;
       }},
      {"--max-batch-body", "FETAL_MAX_BATCH_BODY", "bytes, 1024 to 1073741824",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 1024, 1L << 30, &n)) return false;
         c->max_batch_body = static_cast<size_t>(n);
         return true;
       }},
      {"--max-model-body", "FETAL_MAX_MODEL_BODY", "bytes, 1024 to 1073741824",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 1024, 1L << 30, &n)) return false;
         c->max_model_body = static_cast<size_t>(n);
         return true;
       }},
      {"--read-timeout", "FETAL_READ_TIMEOUT", "seconds, 1 to 3600",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 1, 3600, &n)) return false;
         c->read_timeout_s = static_cast<int>(n);
         return true;
       }},
      {"--write-timeout", "FETAL_WRITE_TIMEOUT", "seconds, 1 to 3600",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 1, 3600, &n)) return false;
         c->write_timeout_s = static_cast<int>(n);
         return true;
       }},
      {"--keep-alive-timeout", "FETAL_KEEP_ALIVE_TIMEOUT", "seconds, 1 to 3600",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 1, 3600, &n)) return false;
         c->keep_alive_timeout_s = static_cast<int>(n);
         return true;
       }},
      {"--token-cache-ms", "FETAL_TOKEN_CACHE_MS", "milliseconds, 0 to 600000",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 0, 600000, &n)) return false;
         c->token_cache_ms = static_cast<int>(n);
         return true;
       }},
      {"--model-cache-ms", "FETAL_MODEL_CACHE_MS", "milliseconds, 0 to 600000",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 0, 600000, &n)) return false;
         c->model_cache_ms = static_cast<int>(n);
         return true;
       }},
      {"--shadow-queue", "FETAL_SHADOW_QUEUE", "exams, 1 to 1000000",
       [](const std::string& v, ServerConfig* c) {
         long n;
         if (!ParseInt(v, 1, 1000000, &n)) return false;
         c->shadow_queue = static_cast<int>(n);
         return true;
       }},
  };
  return options;
}

}  // namespace

bool SplitHostPort(const std::string& listen, std::string* host, int* port, std::string* error) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    *error = "expected HOST:PORT, got \"" + listen + "\"";
    return false;
  }
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  long p;
  if (!ParseInt(listen.substr(colon + 1), 0, 65535, &p)) {
    *error = "expected a port from 0 to 65535 in \"" + listen + "\"";
    return false;
  }
  *host = h;
  *port = static_cast<int>(p);
  return true;
}

bool ParseConfig(const std::vector<std::string>& args, ServerConfig* config,
                 std::vector<std::string>* rest, std::string* error) {
  for (const Option& o : Options()) {
    const char* v = std::getenv(o.env);
    if (v != nullptr && *v != '\0' && !o.set(v, config)) {
      *error =
          std::string("environment variable ") + o.env + "=\"" + v + "\": expected " + o.expected;
      return false;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--no-request-log") {
      config->log_requests = false;
      continue;
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      rest->push_back(arg);
      continue;
    }
    std::string name = arg, value;
    bool has_value = false;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const Option* found = nullptr;
    for (const Option& o : Options()) {
      if (name == o.flag) found = &o;
    }
    if (found == nullptr) {
      *error = "unknown flag " + name + " (see --help)";
      return false;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        *error = name + " needs a value: " + found->expected;
        return false;
      }
      value = args[++i];
    }
    if (!found->set(value, config)) {
      *error = name + " \"" + value + "\": expected " + found->expected;
      return false;
    }
  }
  return true;
}

std::string ConfigUsage() {
  std::string out;
  for (const Option& o : Options()) {
    out += "  ";
    out += o.flag;
    out += " (env ";
    out += o.env;
    out += ")\n      ";
    out += o.expected;
    out += "\n";
  }
  out += "  --no-request-log\n      do not print one JSON line per request\n";
  return out;
}

}  // namespace server
}  // namespace fetal
