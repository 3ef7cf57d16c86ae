// fetal-audit: verifies a fetal-server audit chain away from the server, against checkpoints an
// auditor kept (docs/storage.md "Checking a database yourself").
//
//   fetal-audit verify (--sqlite FILE | --pg-dump FILE | --database-url URL)
//                      [--seq N --hash HEX]... [--checkpoint FILE.json]... [--pubkey PEM]
//
// Exit status: 0 the chain verifies (and matches every anchor), 1 it does not, 2 usage or input
// that cannot be used (unreadable file, a checkpoint whose signature does not verify).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_json.h"
#include "audit_cli/pg_dump_load.h"
#include "audit_signer.h"
#include "fetal/signature.h"
#include "model_registry.h"
#include "storage/audit_verify.h"
#include "storage/canonical.h"
#include "storage/schema.h"
#include "storage/sql.h"
#include "text/time_text.h"

namespace fetal {
namespace audit_cli {
namespace {

using nlohmann::json;
using storage::StoreStatus;

const char kUsage[] =
    "usage: fetal-audit verify (--sqlite FILE | --pg-dump FILE | --database-url URL)\n"
    "                          [--seq N --hash HEX]... [--checkpoint FILE.json]... [--pubkey PEM]\n"
    "  --sqlite FILE        a fetal-server SQLite database (opened read-only), e.g. a backup\n"
    "  --pg-dump FILE       a plain-SQL pg_dump of a fetal-server PostgreSQL database\n"
    "  --database-url URL   a live PostgreSQL database (read in one snapshot)\n"
    "  --seq N --hash HEX   an anchor noted earlier: the event at seq N must have this hash\n"
    "  --checkpoint FILE    a signed checkpoint as POST /api/v1/audit/checkpoint returned it (or\n"
    "                       the whole GET /api/v1/audit/checkpoints answer); needs --pubkey\n"
    "  --pubkey PEM         the audit key's public key (fetal-server audit-key); checkpoints\n"
    "                       stored in the database are checked with it too\n"
    "exit status: 0 verified, 1 the chain does not verify, 2 usage or unusable input\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "fetal-audit: %s\n%s", message.c_str(), kUsage);
  return 2;
}

int Unusable(const std::string& message) {
  std::fprintf(stderr, "fetal-audit: %s\n", message.c_str());
  return 2;
}

bool ReadAll(const std::string& path, std::string* out) {
  std::string ignored;
  return server::ReadFile(path, out, &ignored);
}

struct Args {
  std::string sqlite, pg_dump, database_url, pubkey_path;
  std::vector<std::pair<std::string, std::string>> seq_hash;  // as given
  std::vector<std::string> checkpoints;
};

bool ParseArgs(const std::vector<std::string>& argv, Args* args, std::string* error) {
  std::string pending_seq;
  bool has_seq = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (i + 1 >= argv.size()) {
      *error = a + " needs a value";
      return false;
    }
    const std::string& v = argv[++i];
    if (a == "--sqlite") args->sqlite = v;
    else if (a == "--pg-dump") args->pg_dump = v;
    else if (a == "--database-url") args->database_url = v;
    else if (a == "--pubkey") args->pubkey_path = v;
    else if (a == "--checkpoint") args->checkpoints.push_back(v);
    else if (a == "--seq") {
      if (has_seq) {
        *error = "--seq " + pending_seq + " has no --hash";
        return false;
      }
      pending_seq = v;
      has_seq = true;
    } else if (a == "--hash") {
      if (!has_seq) {
        *error = "--hash must follow a --seq";
        return false;
      }
      args->seq_hash.emplace_back(pending_seq, v);
      has_seq = false;
    } else {
      *error = "unknown argument " + a;
      return false;
    }
  }
  if (has_seq) {
    *error = "--seq " + pending_seq + " has no --hash";
    return false;
  }
  int sources = !args->sqlite.empty() + !args->pg_dump.empty() + !args->database_url.empty();
  if (sources != 1) {
    *error = "give exactly one of --sqlite, --pg-dump, --database-url";
    return false;
  }
  if (!args->checkpoints.empty() && args->pubkey_path.empty()) {
    *error = "--checkpoint needs --pubkey (the audit key's public key, `fetal-server audit-key`)";
    return false;
  }
  return true;
}

// The anchors: each --seq/--hash pair, and every checkpoint in each --checkpoint file once its
// signature verifies with the public key.
bool CollectAnchors(const Args& args, const std::string& pubkey, const std::string& key_id,
                    std::vector<storage::AuditAnchor>* anchors, std::string* error) {
  for (const auto& [seq_text, hash] : args.seq_hash) {
    char* end = nullptr;
    long long seq = std::strtoll(seq_text.c_str(), &end, 10);
    if (seq_text.empty() || *end != '\0' || seq < 0) {
      *error = "--seq must be an integer >= 0, got \"" + seq_text + "\"";
      return false;
    }
    if (!storage::IsSha256Hex(hash)) {
      *error = "--hash must be 64 lowercase hexadecimal characters, got \"" + hash + "\"";
      return false;
    }
    anchors->push_back({seq, hash, "the anchor --seq " + seq_text});
  }
  for (const std::string& path : args.checkpoints) {
    std::string text;
    if (!ReadAll(path, &text)) {
      *error = "cannot read " + path;
      return false;
    }
    json j = json::parse(text, nullptr, false);
    json list = j.is_array()                                 ? j
                : j.is_object() && j.contains("checkpoints") ? j["checkpoints"]
                                                             : json::array({j});
    if (!list.is_array() || list.empty()) {
      *error = path + " holds no checkpoint";
      return false;
    }
    for (const json& item : list) {
      storage::SignedCheckpoint cp;
      std::string why;
      if (!server::CheckpointFromJson(item, &cp, &why)) {
        *error = path + ": " + why;
        return false;
      }
      const std::string label = "checkpoint " + std::to_string(cp.id) + " of " +
                                text::FormatTime(cp.time_ms) + " (" + path + ")";
      if (server::JudgeCheckpoint(pubkey, key_id, cp) != storage::CheckpointTrust::kTrusted) {
        *error = label + " is not signed by the key in " + args.pubkey_path + " (key id " + key_id +
                 "); it cannot serve as an anchor";
        return false;
      }
      anchors->push_back({cp.seq, cp.hash, label});
    }
  }
  return true;
}

// Opens the database to verify; for a dump, a temporary SQLite copy of its rows.
bool OpenSource(const Args& args, std::unique_ptr<storage::SqlConn>* conn,
                storage::Dialect* dialect, std::string* temp_path, std::string* error) {
  *dialect = storage::Dialect::kSqlite;
  StoreStatus s;
  if (!args.sqlite.empty()) {
    if (access(args.sqlite.c_str(), R_OK) != 0) {
      *error = "cannot read " + args.sqlite;
      return false;
    }
    s = storage::OpenSqliteReadOnly(args.sqlite, conn);
  } else if (!args.database_url.empty()) {
    *dialect = storage::Dialect::kPostgres;
    s = storage::OpenPostgresConn(args.database_url, storage::StoreLimits(), conn);
  } else {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/fetal-audit-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    int fd = mkstemp(name.data());
    if (fd < 0) {
      *error = "cannot create a temporary file in " + pattern;
      return false;
    }
    close(fd);
    *temp_path = name.data();
    s = storage::OpenSqliteConn(*temp_path, storage::StoreLimits(), conn);
    if (s.ok()) s = storage::Migrate(storage::Dialect::kSqlite, conn->get());
    PgDumpCounts counts;
    if (s.ok()) s = LoadPgDump(args.pg_dump, conn->get(), &counts);
    if (s.ok()) {
      std::fprintf(stderr, "fetal-audit: read %lld events, %lld exams, %lld checkpoints from %s\n",
                   static_cast<long long>(counts.audit), static_cast<long long>(counts.exams),
                   static_cast<long long>(counts.checkpoints), args.pg_dump.c_str());
    }
  }
  if (!s.ok()) {
    *error = s.message();
    return false;
  }
  return true;
}

void RemoveTemp(const std::string& path) {
  if (path.empty()) return;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) unlink((path + suffix).c_str());
}

int Verify(const std::vector<std::string>& argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argv, &args, &error)) return Usage(error);
  std::string pubkey, key_id;
  if (!args.pubkey_path.empty()) {
    if (!ReadAll(args.pubkey_path, &pubkey)) return Unusable("cannot read " + args.pubkey_path);
    Status s = PublicKeyId(pubkey, &key_id);
    if (!s.ok()) return Unusable(args.pubkey_path + ": " + s.message());
  }
  storage::VerifyOptions options;
  if (!CollectAnchors(args, pubkey, key_id, &options.anchors, &error)) return Unusable(error);
  if (!pubkey.empty()) {
    options.trust = [pubkey, key_id](const storage::SignedCheckpoint& cp) {
      return server::JudgeCheckpoint(pubkey, key_id, cp);
    };
  }
  std::unique_ptr<storage::SqlConn> conn;
  storage::Dialect dialect;
  std::string temp;
  if (!OpenSource(args, &conn, &dialect, &temp, &error)) {
    conn.reset();
    RemoveTemp(temp);
    return Unusable(error);
  }
  storage::AuditVerifyResult r;
  StoreStatus s = storage::VerifyChain(dialect, conn.get(), options, &r);
  conn.reset();
  RemoveTemp(temp);
  if (!s.ok()) return Unusable("the verification could not run: " + s.message());
  std::printf("events %lld, head %s, anchors checked %lld, stored checkpoints not checked %lld\n",
              static_cast<long long>(r.length), r.head_hash.c_str(),
              static_cast<long long>(r.anchors_checked),
              static_cast<long long>(r.checkpoints_not_checked));
  if (r.ok) {
    std::printf("ok: the chain verifies\n");
    return 0;
  }
  std::printf("NOT OK: %lld problem%s, the first at seq %lld\n",
              static_cast<long long>(r.problem_count), r.problem_count == 1 ? "" : "s",
              static_cast<long long>(r.first_bad_seq));
  for (const auto& p : r.problems) {
    std::printf("  seq %lld: %s\n", static_cast<long long>(p.seq), p.problem.c_str());
  }
  if (r.problem_count > static_cast<int64_t>(r.problems.size())) {
    std::printf("  (%lld more not listed)\n",
                static_cast<long long>(r.problem_count - static_cast<int64_t>(r.problems.size())));
  }
  return 1;
}

}  // namespace
}  // namespace audit_cli
}  // namespace fetal

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", fetal::audit_cli::kUsage);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "verify") return fetal::audit_cli::Usage("unknown command \"" + args[0] + "\"");
  return fetal::audit_cli::Verify(std::vector<std::string>(args.begin() + 1, args.end()));
}
