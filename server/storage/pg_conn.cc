// SqlConn over one libpqxx connection. Transactions are driven with explicit BEGIN / SAVEPOINT /
// COMMIT statements through short-lived nontransaction objects, so the shared store code controls
// them the same way on both backends. No libpqxx exception leaves this file.
#include <pqxx/pqxx>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>

#include "storage/sql.h"
#include "text/number_text.h"

namespace fetal {
namespace storage {
namespace {

const char kHex[] = "0123456789abcdef";

std::string ByteaHex(const std::string& bytes) {
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// SQLSTATE classes that mean "the database is not there right now" rather than "your input".
bool IsUnavailableState(const std::string& state) {
  if (state.size() != 5) return false;
  std::string cls = state.substr(0, 2);
  return cls == "08" || cls == "53" || cls == "57" || cls == "58" || state == "40001" ||
         state == "40P01" || state == "55P03";
}

class PostgresConn : public SqlConn {
 public:
  explicit PostgresConn(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}

  StoreStatus Exec(const std::string& sql, const std::vector<SqlValue>& params,
                   SqlRows* rows) override {
    if (broken_) return StoreStatus::Unavailable("postgresql: connection lost");
    try {
      std::string name;
      auto it = names_.find(sql);
      if (it != names_.end()) {
        name = it->second;
      } else {
        name = "s" + std::to_string(names_.size() + 1);
        conn_->prepare(name, sql);
        names_.emplace(sql, name);
      }
      // Every parameter travels as text; bytea in its "\x" hex input form.
      std::vector<std::string> values;
      values.reserve(params.size());
      for (const SqlValue& v : params) {
        switch (v.type) {
          case SqlValue::Type::kInt: values.push_back(std::to_string(v.i)); break;
          case SqlValue::Type::kDouble: values.push_back(text::Precise(v.d)); break;
          case SqlValue::Type::kBlob: values.push_back(ByteaHex(v.s)); break;
          default:  // no nullable parameters are used
            // libpq takes text parameters as C strings: a NUL would store a shortened value
            // while the hash covered all of it. The store refuses such text before it gets
            // here; this is the last line.
            if (v.s.find('\0') != std::string::npos) {
              return StoreStatus::InvalidArgument(
                  "postgresql: a text value holds a NUL character, which PostgreSQL text cannot "
                  "store");
            }
            values.push_back(v.s);
            break;
        }
      }
      pqxx::nontransaction tx(*conn_);
      pqxx::result r = tx.exec_prepared(name, pqxx::prepare::make_dynamic_params(values));
      if (rows) {
        rows->reserve(rows->size() + r.size());
        for (const auto& row : r) {
          SqlRow out(row.size());
          for (pqxx::row::size_type c = 0; c < row.size(); ++c) {
            if (!row[c].is_null())
              out[c] = SqlValue::Text(std::string(row[c].c_str(), row[c].size()));
          }
          rows->push_back(std::move(out));
        }
      }
      return StoreStatus::Ok();
    } catch (...) {
      return MapCurrentException();
    }
  }

  StoreStatus ExecScript(const std::string& sql) override {
    if (broken_) return StoreStatus::Unavailable("postgresql: connection lost");
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec(sql);
      return StoreStatus::Ok();
    } catch (...) {
      return MapCurrentException();
    }
  }

  bool broken() const override { return broken_; }

 private:
  StoreStatus MapCurrentException() {
    try {
      throw;
    } catch (const pqxx::broken_connection& e) {
      broken_ = true;
      return StoreStatus::Unavailable(std::string("postgresql: connection lost: ") + e.what());
    } catch (const pqxx::in_doubt_error& e) {
      broken_ = true;
      return StoreStatus::Unavailable(std::string("postgresql: commit outcome unknown: ") +
                                      e.what());
    } catch (const pqxx::sql_error& e) {
      std::string msg = std::string("postgresql: ") + e.what();
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      const std::string& state = e.sqlstate();
      if (IsUnavailableState(state)) {
        // 57014: statement_timeout cancelled the statement; the session itself is fine.
        if (state.compare(0, 2, "08") == 0 || (state.compare(0, 2, "57") == 0 && state != "57014"))
          broken_ = true;
        return StoreStatus::Unavailable(msg);
      }
      if (state.compare(0, 2, "23") == 0) return StoreStatus::Conflict(msg);
      if (state.compare(0, 2, "XX") == 0) return StoreStatus::Corruption(msg);
      return StoreStatus::Internal(msg);
    } catch (const std::exception& e) {
      // libpqxx reports a dropped socket in several ways; treat the connection as gone.
      if (!conn_->is_open()) broken_ = true;
      return broken_ ? StoreStatus::Unavailable(std::string("postgresql: ") + e.what())
                     : StoreStatus::Internal(std::string("postgresql: ") + e.what());
    } catch (...) {
      return StoreStatus::Internal("postgresql: unknown error");
    }
  }

  std::unique_ptr<pqxx::connection> conn_;
  std::unordered_map<std::string, std::string> names_;
  bool broken_ = false;
};

}  // namespace

std::string PostgresUrlWithLimits(const std::string& url, const StoreLimits& limits) {
  const int idle = std::max(1, limits.keepalive_idle_s);
  const std::pair<const char*, std::string> params[] = {
      {"connect_timeout", std::to_string(std::max(1, limits.connect_timeout_s))},
      {"keepalives", "1"},
      {"keepalives_idle", std::to_string(idle)},
      {"keepalives_interval", std::to_string(std::max(1, idle / 3))},
      {"keepalives_count", "3"},
  };
  // libpq takes a URL (postgresql://...?k=v&k=v) or a "k=v k=v" string; what the operator set
  // in either wins.
  const bool is_url = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  std::string out = url;
  for (const auto& [name, value] : params) {
    if (url.find(std::string(name) + "=") != std::string::npos) continue;
    if (is_url) {
      out += out.find('?') == std::string::npos ? '?' : '&';
    } else if (!out.empty()) {
      out += ' ';
    }
    out += std::string(name) + "=" + value;
  }
  return out;
}

StoreStatus OpenPostgresConn(const std::string& url, const StoreLimits& limits,
                             std::unique_ptr<SqlConn>* out) {
  try {
    auto conn = std::make_unique<pqxx::connection>(PostgresUrlWithLimits(url, limits));
    // A lost connection must surface as an error (and a 503), not be silently reopened with
    // an open transaction's state gone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    auto pg = std::make_unique<PostgresConn>(std::move(conn));
    // Every wait inside PostgreSQL is bounded too: a statement, a lock (the chain lock held by a
    // stalled instance), and a transaction left open by a client that went quiet.
    StoreStatus s = pg->ExecScript(
        "SET synchronous_commit = on; SET client_min_messages = warning; "
        "SET statement_timeout = " +
        std::to_string(limits.statement_timeout_ms) + "; SET lock_timeout = " +
        std::to_string(limits.lock_timeout_ms) + "; SET idle_in_transaction_session_timeout = " +
        std::to_string(limits.idle_in_transaction_timeout_ms));
    if (!s.ok()) return s;
    *out = std::move(pg);
    return StoreStatus::Ok();
  } catch (const std::exception& e) {
    return StoreStatus::Unavailable(std::string("postgresql: cannot connect: ") + e.what());
  }
}

}  // namespace storage
}  // namespace fetal
