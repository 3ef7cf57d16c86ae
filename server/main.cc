// fetal-server: the REST API, model registry and web app host (docs/api.md).
//
//   fetal-server [serve] [flags]                      run the server
//   fetal-server token create --role R --name N [flags]
//   fetal-server token list [flags]
//   fetal-server token revoke ID [flags]
//   fetal-server backup --out FILE [flags]
//   fetal-server audit-key [flags]
//   fetal-server report --from YYYY-MM-DD --to YYYY-MM-DD --out DIR [flags]
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api_json.h"
#include "audit_signer.h"
#include "auth.h"
#include "config.h"
#include "fetal/bundle.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"
#include "http/responses.h"
#include "http_server.h"
#include "model_registry.h"
#include "post_market/post_market_files.h"
#include "storage/backup.h"
#include "storage/store.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

const char kUsage[] =
    "usage:\n"
    "  fetal-server [serve] [flags]                         run the server\n"
    "  fetal-server token create --role ROLE --name NAME [flags]\n"
    "                                                       ROLE: clinician | auditor | admin\n"
    "  fetal-server token list [flags]\n"
    "  fetal-server token revoke ID [flags]\n"
    "  fetal-server backup --out FILE [--pages-per-step N] [--pause-ms MS] [flags]\n"
    "                                                       consistent copy of a live SQLite "
    "store\n"
    "  fetal-server audit-key [flags]                       print the audit key's public key and "
    "id\n"
    "  fetal-server report --from YYYY-MM-DD --to YYYY-MM-DD --out DIR [flags]\n"
    "                                                       write the signed post-market report\n"
    "flags (each also read from the environment variable shown):\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "fetal-server: %s\n", message.c_str());
  return 1;
}

bool MakeDirs(const std::string& path, std::string* error) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        *error = "cannot create directory " + partial + ": " + std::strerror(errno);
        return false;
      }
    }
  }
  return true;
}

// Writes `bytes` to path.tmp, syncs it and renames it over `path`: a reader never sees half a
// file.
bool WriteFileAtomically(const std::string& path, const std::string& bytes, std::string* error) {
  const std::string temp = path + ".tmp";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  const int saved = errno;
  if (fd >= 0) close(fd);
  if (ok && rename(temp.c_str(), path.c_str()) == 0) return true;
  *error = "cannot write " + path + ": " + std::strerror(ok ? errno : saved);
  unlink(temp.c_str());
  return false;
}

std::string SqlitePath(const ServerConfig& config) { return config.data_dir + "/fetal.db"; }

bool OpenStore(const ServerConfig& config, std::unique_ptr<storage::Store>* store,
               std::string* error) {
  if (!MakeDirs(config.data_dir, error)) return false;
  storage::StoreOptions options;
  options.url = config.database_url.empty() ? SqlitePath(config) : config.database_url;
  options.limits = config.store_limits;
  storage::StoreStatus s = storage::Store::Open(options, store);
  if (!s.ok()) {
    *error = "cannot open storage (" +
             (config.database_url.empty() ? options.url : std::string("database URL")) +
             "): " + s.ToString();
    return false;
  }
  return true;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t b = s.find_first_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b);
}

const storage::Actor kSystem{"system", "system", ""};

// First start: register the default bundle as the active model when the registry is empty.
// With a public key, only a signed bundle that verifies is registered.
bool EnsureModel(const ServerConfig& config, const std::string& pubkey, storage::Store* store,
                 ModelRegistry* registry, std::string* error) {
  std::vector<storage::ModelRecord> models;
  storage::StoreStatus s = store->ListModels(&models);
  if (!s.ok()) {
    *error = "cannot list models: " + s.ToString();
    return false;
  }
  if (!models.empty()) {
    bool any_active = false;
    for (const auto& m : models) any_active = any_active || m.active;
    if (any_active) return true;
    // A first start that died between registering and activating: finish the job, with a
    // bundle that verifies as any activation's must.
    ModelVersion checked;
    s = registry->Reload(models.back().version, &checked);
    if (s.ok()) s = store->ActivateModel(models.back().version, kSystem);
    if (!s.ok()) {
      *error = "no model is active and activating version " +
               std::to_string(models.back().version) + " failed: " + s.ToString();
      return false;
    }
    std::printf("fetal-server: no model was active; activated version %lld\n",
                static_cast<long long>(models.back().version));
    return true;
  }
  if (config.default_model_path.empty()) {
    *error =
        "the model registry is empty: pass --default-model BUNDLE (e.g. the bundle `fetal-model "
        "train` wrote)";
    return false;
  }
  std::string bundle, signature;
  if (!ReadFile(config.default_model_path, &bundle, error)) return false;
  std::string sig_error;
  if (ReadFile(config.default_model_path + ".sig", &signature, &sig_error)) {
    signature = Trim(signature);
  } else if (!pubkey.empty()) {
    *error = "--model-pubkey is set but the default model " + config.default_model_path +
             " has no signature (" + config.default_model_path +
             ".sig is missing); this server only uses signed models: sign it with "
             "`fetal-model sign --key PRIVATE.pem " +
             config.default_model_path + "` or start without --model-pubkey";
    return false;
  } else {
    std::fprintf(
        stderr,
        "fetal-server: warning: %s.sig not found; the default model is registered unsigned\n",
        config.default_model_path.c_str());
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bundle.data());
  if (!pubkey.empty() && !signature.empty()) {
    Status v = VerifyBundle(pubkey, data, bundle.size(), signature);
    if (!v.ok()) {
      *error =
          config.default_model_path + ".sig does not verify with --model-pubkey: " + v.ToString();
      return false;
    }
  }
  Model parsed_model;
  Status parsed = ReadBundle(data, bundle.size(), &parsed_model);
  if (!parsed.ok()) {
    *error = config.default_model_path + " is not a valid bundle: " + parsed.ToString();
    return false;
  }
  std::unique_ptr<Classifier> classifier;
  Status tested = ModelRegistry::SelfTest(std::move(parsed_model), &classifier);
  if (!tested.ok()) {
    *error = config.default_model_path + " failed the self-test: " + tested.ToString();
    return false;
  }
  const Model& model = classifier->model();
  storage::ModelInput input;
  input.version = model.model_version;
  input.bundle = bundle;
  input.signature = signature;
  input.sha256 = Sha256Hex(bundle.data(), bundle.size());
  input.metadata_json = Dump(ModelMetadata(model, bundle.size()));
  storage::ModelRecord record;
  s = store->PutModel(input, kSystem, &record);
  if (s.code() == storage::StoreStatus::Code::kConflict) {
    // Another instance on the same database registered it first; it also activates it.
    std::printf("fetal-server: the default model was registered by another instance\n");
    return true;
  }
  if (s.ok()) s = store->ActivateModel(record.version, kSystem);
  if (!s.ok()) {
    *error = "cannot register the default model: " + s.ToString();
    return false;
  }
  std::printf("fetal-server: registered %s as model version %lld (active)\n",
              config.default_model_path.c_str(), static_cast<long long>(record.version));
  return true;
}

// First start: create an admin token, print it once and keep it 0600 in the data directory.
bool EnsureAdminToken(const ServerConfig& config, storage::Store* store, std::string* error) {
  std::vector<storage::TokenRecord> tokens;
  storage::StoreStatus s = store->ListTokens(&tokens);
  if (!s.ok()) {
    *error = "cannot list tokens: " + s.ToString();
    return false;
  }
  if (!tokens.empty()) return true;
  std::string secret = GenerateToken();
  storage::TokenRecord record;
  s = store->CreateToken("admin", "admin", HashToken(secret), kSystem, &record);
  if (s.code() == storage::StoreStatus::Code::kConflict) return true;  // another instance made it
  if (!s.ok()) {
    *error = "cannot create the admin token: " + s.ToString();
    return false;
  }
  const std::string path = config.data_dir + "/admin-token";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  bool written = fd >= 0 && fchmod(fd, 0600) == 0 &&
                 write(fd, (secret + "\n").data(), secret.size() + 1) ==
                     static_cast<ssize_t>(secret.size() + 1);
  if (fd >= 0) close(fd);
  std::printf("fetal-server: created admin token (shown once; also in %s%s):\n  %s\n", path.c_str(),
              written ? "" : " -- WRITING IT FAILED", secret.c_str());
  return true;
}

std::string AuditKeyPath(const ServerConfig& config) {
  return config.audit_key_path.empty() ? config.data_dir + "/audit-key.pem" : config.audit_key_path;
}

// The checkpoint signing key: --audit-key, or DATA_DIR/audit-key.pem made on first start. A
// server never makes a key at a path given with --audit-key (instances sharing one key must not
// each make their own); `fetal-server audit-key --audit-key PATH` does (`create_named`).
bool LoadAuditKey(const ServerConfig& config, bool create_named,
                  std::unique_ptr<AuditSigner>* signer, std::string* error) {
  if (!MakeDirs(config.data_dir, error)) return false;
  const std::string path = AuditKeyPath(config);
  bool created = false;
  if (!AuditSigner::Load(path, create_named || config.audit_key_path.empty(), signer, &created,
                         error)) {
    *error += " (--audit-key)";
    return false;
  }
  if (created) {  // stderr: `fetal-server audit-key` prints only the public key on stdout
    std::fprintf(
        stderr,
        "fetal-server: created the audit key %s (key id %s); it signs audit checkpoints: back it "
        "up apart from the database backups, and give auditors its public key "
        "(fetal-server audit-key)\n",
        path.c_str(), (*signer)->key_id().c_str());
  }
  return true;
}

int Serve(const ServerConfig& config) {
  // Block the stop signals in every thread; one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  std::string pubkey, error;
  if (!config.model_pubkey_path.empty() && !ReadFile(config.model_pubkey_path, &pubkey, &error)) {
    return Fail("--model-pubkey: " + error);
  }
  std::unique_ptr<storage::Store> store;
  if (!OpenStore(config, &store, &error)) return Fail(error);
  std::unique_ptr<AuditSigner> audit_signer;
  if (!LoadAuditKey(config, /*create_named=*/false, &audit_signer, &error)) return Fail(error);
  ModelRegistry registry(store.get(), pubkey, std::chrono::milliseconds(config.model_cache_ms));
  if (!EnsureModel(config, pubkey, store.get(), &registry, &error)) return Fail(error);
  if (!EnsureAdminToken(config, store.get(), &error)) return Fail(error);
  std::shared_ptr<const storage::ModelRecord> active;
  storage::StoreStatus active_status = registry.Active(&active);
  if (active_status.code() == storage::StoreStatus::Code::kCorruption) {
    // Not fatal: an admin can upload and activate a signed model through the running server.
    std::fprintf(stderr, "fetal-server: warning: the active model is refused: %s\n",
                 active_status.message().c_str());
  }

  auto api = std::make_unique<ApiServer>(config, store.get(), &registry, audit_signer.get());
  int port = 0;
  if (!api->Bind(&port, &error)) return Fail(error);
  std::string host, ignored;
  int ignored_port;
  SplitHostPort(config.listen, &host, &ignored_port, &ignored);
  std::printf("fetal-server: listening on http://%s:%d/ (storage %s, web root %s, %d threads)\n",
              host.find(':') != std::string::npos ? ("[" + host + "]").c_str() : host.c_str(), port,
              store->backend(), config.web_root.empty() ? "none" : config.web_root.c_str(),
              config.threads);
  std::fflush(stdout);

  ApiServer* api_ptr = api.get();
  std::atomic<bool> finished{false};
  std::thread signal_thread([stop_signals, api_ptr, &finished] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (finished.load()) return;  // woken by the main thread below
    std::printf("fetal-server: %s received, finishing in-flight requests\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::fflush(stdout);
    api_ptr->Stop();
  });
  api->Run();  // returns after Stop(), once the worker threads finished their requests
  // The signal thread must be done with the server before the server is destroyed. Wake it in
  // case it still waits (the signal is blocked, so it only ends sigwait), then join it.
  finished.store(true);
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  api.reset();
  store.reset();  // drains the committer: everything acknowledged is committed
  std::printf("fetal-server: stopped\n");
  return 0;
}

// Pulls "--name value" / "--name=value" out of args.
bool TakeFlag(std::vector<std::string>* args, const std::string& name, std::string* value) {
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (a == name && i + 1 < args->size()) {
      *value = (*args)[i + 1];
      args->erase(args->begin() + i, args->begin() + i + 2);
      return true;
    }
    if (a.compare(0, name.size() + 1, name + "=") == 0) {
      *value = a.substr(name.size() + 1);
      args->erase(args->begin() + i);
      return true;
    }
  }
  return false;
}

int TokenCommand(std::vector<std::string> args) {
  if (args.empty()) return Fail(std::string("token: expected create, list or revoke\n") + kUsage);
  const std::string verb = args[0];
  args.erase(args.begin());
  std::string role_name, name;
  bool has_role = TakeFlag(&args, "--role", &role_name);
  bool has_name = TakeFlag(&args, "--name", &name);
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  if (!ParseConfig(args, &config, &rest, &error)) return Fail(error);
  const storage::Actor cli{"cli", "admin", ""};

  if (verb == "create") {
    Role role;
    if (!has_role || !ParseRole(role_name, &role)) {
      return Fail("token create: --role must be clinician, auditor or admin" +
                  (has_role ? ", got \"" + role_name + "\"" : std::string()));
    }
    if (!has_name || name.empty() || name.size() > 64) {
      return Fail("token create: --name NAME is required (1 to 64 characters, e.g. ward-3-nurse)");
    }
    if (!rest.empty()) return Fail("token create: unexpected argument " + rest[0]);
    std::unique_ptr<storage::Store> store;
    if (!OpenStore(config, &store, &error)) return Fail(error);
    std::string secret = GenerateToken();
    storage::TokenRecord record;
    storage::StoreStatus s =
        store->CreateToken(name, RoleName(role), HashToken(secret), cli, &record);
    if (!s.ok()) return Fail("token create: " + s.ToString());
    std::fprintf(stderr,
                 "created token id %lld, name %s, role %s (the secret below is shown only once)\n",
                 static_cast<long long>(record.id), record.name.c_str(), record.role.c_str());
    std::printf("%s\n", secret.c_str());
    return 0;
  }
  if (verb == "list") {
    if (has_role || has_name || !rest.empty())
      return Fail("token list: takes no arguments besides storage flags");
    std::unique_ptr<storage::Store> store;
    if (!OpenStore(config, &store, &error)) return Fail(error);
    std::vector<storage::TokenRecord> tokens;
    storage::StoreStatus s = store->ListTokens(&tokens);
    if (!s.ok()) return Fail("token list: " + s.ToString());
    std::printf("%-6s %-24s %-10s %-25s %s\n", "ID", "NAME", "ROLE", "CREATED", "STATUS");
    for (const auto& t : tokens) {
      std::printf("%-6lld %-24s %-10s %-25s %s\n", static_cast<long long>(t.id), t.name.c_str(),
                  t.role.c_str(), text::FormatTime(t.created_ms).c_str(),
                  t.revoked ? ("revoked " + text::FormatTime(t.revoked_ms)).c_str() : "active");
    }
    return 0;
  }
  if (verb == "revoke") {
    if (rest.size() != 1 || has_role || has_name)
      return Fail("token revoke: expected one token ID (see token list)");
    char* end = nullptr;
    long long id = std::strtoll(rest[0].c_str(), &end, 10);
    if (rest[0].empty() || *end != '\0' || id <= 0)
      return Fail("token revoke: ID must be a positive integer, got " + rest[0]);
    std::unique_ptr<storage::Store> store;
    if (!OpenStore(config, &store, &error)) return Fail(error);
    storage::StoreStatus s = store->RevokeToken(id, cli);
    if (!s.ok()) return Fail("token revoke: " + s.ToString());
    std::printf(
        "revoked token %lld (running servers refuse it within their token cache time, 2 s by "
        "default)\n",
        id);
    return 0;
  }
  return Fail("token: unknown verb \"" + verb + "\"; expected create, list or revoke");
}

// `backup --out FILE`: SQLite's online backup of the live store (storage/backup.h).
int BackupCommand(std::vector<std::string> args) {
  std::string out, pages_text, pause_text;
  const bool has_out = TakeFlag(&args, "--out", &out);
  const bool has_pages = TakeFlag(&args, "--pages-per-step", &pages_text);
  const bool has_pause = TakeFlag(&args, "--pause-ms", &pause_text);
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  if (!ParseConfig(args, &config, &rest, &error)) return Fail("backup: " + error);
  if (!has_out || out.empty()) return Fail("backup: --out FILE is required (where the copy goes)");
  if (!rest.empty()) return Fail("backup: unexpected argument " + rest[0]);
  if (!config.database_url.empty()) {
    return Fail(
        "backup: this copies a SQLite store; back up PostgreSQL with pg_dump or a base backup "
        "plus WAL archiving (docs/storage.md, \"Backups\")");
  }
  storage::BackupOptions options;
  options.lock_timeout_ms = config.store_limits.lock_timeout_ms;
  char* end = nullptr;
  if (has_pages) {
    long v = std::strtol(pages_text.c_str(), &end, 10);
    if (pages_text.empty() || *end != '\0' || v < 1 || v > 1000000)
      return Fail("backup: --pages-per-step must be an integer from 1 to 1000000");
    options.pages_per_step = static_cast<int>(v);
  }
  if (has_pause) {
    long v = std::strtol(pause_text.c_str(), &end, 10);
    if (pause_text.empty() || *end != '\0' || v < 0 || v > 10000)
      return Fail("backup: --pause-ms must be an integer from 0 to 10000");
    options.pause_ms = static_cast<int>(v);
  }
  const std::string source = SqlitePath(config);
  char real_source[PATH_MAX], real_out[PATH_MAX];
  if (realpath(source.c_str(), real_source) && realpath(out.c_str(), real_out) &&
      std::string(real_source) == real_out) {
    return Fail("backup: --out must not be the live database itself");
  }
  const int64_t started = text::NowMs();
  storage::BackupReport report;
  storage::StoreStatus s = storage::BackupSqlite(source, out, options, &report);
  if (!s.ok()) return Fail("backup: " + s.ToString());
  std::printf(
      "fetal-server backup: wrote %s: %lld exams, audit chain of %lld events (head %s), %lld "
      "pages in %lld steps, %.2f s\n",
      out.c_str(), static_cast<long long>(report.exams),
      static_cast<long long>(report.audit_length), report.head_hash.c_str(),
      static_cast<long long>(report.pages), static_cast<long long>(report.steps),
      (text::NowMs() - started) / 1000.0);
  if (!report.verify.ok) {
    return Fail("backup: the copy was written, but its audit chain does not verify: seq " +
                std::to_string(report.verify.first_bad_seq) + ": " + report.verify.problem + " (" +
                std::to_string(report.verify.problem_count) + " problems)");
  }
  std::printf(
      "fetal-server backup: the copy's audit chain verifies; restore it by copying it to "
      "DATA_DIR/fetal.db of a stopped server\n");
  return 0;
}

// `audit-key`: the public half of the checkpoint key (made first when missing), for auditors to
// verify checkpoints with.
int AuditKeyCommand(std::vector<std::string> args) {
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  if (!ParseConfig(args, &config, &rest, &error)) return Fail("audit-key: " + error);
  if (!rest.empty()) return Fail("audit-key: unexpected argument " + rest[0]);
  std::unique_ptr<AuditSigner> signer;
  if (!LoadAuditKey(config, /*create_named=*/true, &signer, &error)) {
    return Fail("audit-key: " + error);
  }
  std::fprintf(stderr, "audit key %s, key id %s; its public key:\n", AuditKeyPath(config).c_str(),
               signer->key_id().c_str());
  std::printf("%s", signer->public_pem().c_str());
  return 0;
}

// `report`: the signed post-market report of a period into a directory (post_market_files.h).
// Exit status 2 for arguments that cannot be used, 1 when the report could not be made.
int ReportCommand(std::vector<std::string> args) {
  const auto usage = [](const std::string& message) {
    std::fprintf(stderr, "fetal-server report: %s\n", message.c_str());
    return 2;
  };
  std::string from, to, out;
  const bool has_from = TakeFlag(&args, "--from", &from);
  const bool has_to = TakeFlag(&args, "--to", &to);
  const bool has_out = TakeFlag(&args, "--out", &out);
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  if (!ParseConfig(args, &config, &rest, &error)) return usage(error);
  if (!rest.empty()) return usage("unexpected argument " + rest[0]);
  if (!has_from || !has_to) return usage("--from YYYY-MM-DD and --to YYYY-MM-DD are required");
  if (!has_out || out.empty()) return usage("--out DIR is required (where the files go)");
  post_market::Period period;
  std::string field;
  if (!post_market::ParsePeriod(from, to, "--", &period, &field, &error)) return usage(error);
  std::unique_ptr<storage::Store> store;
  if (!OpenStore(config, &store, &error)) return Fail("report: " + error);
  std::unique_ptr<AuditSigner> signer;
  if (!LoadAuditKey(config, /*create_named=*/false, &signer, &error)) {
    return Fail("report: " + error);
  }
  std::map<std::string, std::string> files;
  storage::StoreStatus s =
      post_market::MakeReportFiles(store.get(), period, *signer, /*with_records=*/true, &files);
  if (!s.ok()) return Fail("report: " + s.ToString());
  if (!MakeDirs(out, &error)) return Fail("report: " + error);
  for (const auto& [name, bytes] : files) {
    if (!WriteFileAtomically(out + "/" + name, bytes, &error)) return Fail("report: " + error);
  }
  std::printf("fetal-server report: wrote %s/{%s,%s,%s} and their .sig files (key id %s)\n",
              out.c_str(), post_market::kHtmlFile, post_market::kJsonFile,
              post_market::kRecordsFile, signer->key_id().c_str());
  return 0;
}

}  // namespace
}  // namespace server
}  // namespace fetal

int main(int argc, char** argv) {
  using namespace fetal::server;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("%s%s", kUsage, ConfigUsage().c_str());
      return 0;
    }
  }
  if (!args.empty() && args[0] == "token")
    return TokenCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "backup")
    return BackupCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "audit-key")
    return AuditKeyCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "report")
    return ReportCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "serve") args.erase(args.begin());
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  if (!ParseConfig(args, &config, &rest, &error)) return Fail(error);
  if (!rest.empty()) return Fail("unexpected argument \"" + rest[0] + "\" (see --help)");
  return Serve(config);
}
