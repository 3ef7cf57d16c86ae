// The public entry points of store.h: StoreStatus::ToString and Store::Open.
#include "storage/store.h"

#include "storage/sql_store.h"

namespace fetal {
namespace storage {

std::string StoreStatus::ToString() const {
  const char* name = "ok";
  switch (code_) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: name = "invalid argument"; break;
    case Code::kNotFound: name = "not found"; break;
    case Code::kConflict: name = "conflict"; break;
    case Code::kUnavailable: name = "unavailable"; break;
    case Code::kCorruption: name = "corruption"; break;
    case Code::kInternal: name = "internal"; break;
  }
  std::string out = std::string(name) + ": " + message_;
  if (!field_.empty()) out += " (field " + field_ + ")";
  return out;
}

StoreStatus Store::Open(const StoreOptions& options, std::unique_ptr<Store>* store) {
  const std::string& url = options.url;
  Database database;
  database.target = url;
  database.limits = options.limits;
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    database.dialect = Dialect::kPostgres;
  } else if (url.rfind("sqlite:", 0) == 0) {
    database.target = url.substr(7);
  }
  if (database.target.empty()) {
    return StoreStatus::InvalidArgument(
        "database url is empty; expected a SQLite file path or postgresql://...", "url");
  }
  auto s = std::make_unique<SqlStore>(std::move(database), options);
  StoreStatus st = s->Init();
  if (!st.ok()) return st;
  *store = std::move(s);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
