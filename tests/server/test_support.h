// Test support for the server's integration tests: tiny model bundles built in-process, signing
// keys, a real fetal-server child process on 127.0.0.1, and throwaway PostgreSQL databases.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fetal/model.h"

namespace fetal {
namespace testing_support {

// A small hand-built model (3 trees per class, depth 2) that passes CheckModel and the
// server's self-test. `version` is its model_version; `shift` changes its leaf values so two
// versions give different probabilities.
Model TinyModel(int64_t version, float shift = 0);
std::string BundleBytes(const Model& model);
// A bundle whose schema names another feature (hash fixed up, so only the schema check fails).
std::string WrongSchemaBundle(int64_t version);

struct SigningKeys {
  std::string private_pem, public_pem;
};
SigningKeys NewKeys();
std::string Sign(const SigningKeys& keys, const std::string& bytes);

std::string MakeTempDir(const std::string& tag);
void RemoveTree(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
std::string ReadFileOrEmpty(const std::string& path);

// `body` decoded from its Content-Encoding ("br", "gzip", or "" for none); "<not decodable>" when
// it is not valid data of that coding or decodes to more than 64 MiB.
std::string Decoded(const std::string& body, const std::string& coding);

// The first sanitizer report (ThreadSanitizer, AddressSanitizer, LeakSanitizer, UBSan runtime
// error) in a process's output and what follows it, or "" when there is none.
std::string SanitizerReport(const std::string& output);

// The process's peak resident memory so far (VmHWM in /proc/<pid>/status), in KiB; -1 if unknown.
int64_t PeakRssKb(pid_t pid);

// True when the server binary (ServerProcess::Binary()) carries ThreadSanitizer's or
// AddressSanitizer's runtime, whose allocator and shadow memory multiply what the process holds.
// Read once, from the names the binary's symbol tables hold.
bool ServerIsSanitizerBuild();

// Runs a command through /bin/sh, returns its stdout; *status gets the exit status.
std::string RunCommand(const std::string& command, int* status);

// A fetal-server process. Its stdout+stderr go to <dir>/server.log.
class ServerProcess {
 public:
  // Path of bin/fetal-server: the FETAL_SERVER_BIN environment variable when it is set and not
  // empty (the test command points these suites at the ThreadSanitizer build's server that
  // way), else the FETAL_SERVER_BIN compile definition (this build's server). Tools that go with
  // the server (fetal-audit) are looked up beside it.
  static std::string Binary();
  // Starts the server with `args` (plus --listen 127.0.0.1:0) and waits until it prints the
  // port it bound. False (with the log in *error) if it exits or stays silent for 30 s.
  bool Start(const std::vector<std::string>& args, const std::string& log_path, std::string* error);
  // SIGTERM, then wait up to 60 s (then SIGKILL); returns the exit status, or -1 when it had
  // to be killed or was not running.
  int Stop();
  void Kill();  // SIGKILL and reap
  bool running() const { return pid_ > 0; }
  // True while the process exists and has not exited (reaps it when it has).
  bool alive();
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  ~ServerProcess();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs SQL on the SQLite file at `path` (tamper tests). False with *error on failure.
bool SqliteExecute(const std::string& path, const std::string& sql, std::string* error);

// A PostgreSQL cluster shared by the whole test binary: FETAL_TEST_PG_URL if set, otherwise a
// throwaway cluster started by scripts/pg-throwaway.sh and stopped at exit.
class Postgres {
 public:
  // Empty (with *error) when no cluster can be started.
  static std::string BaseUrl(std::string* error);
  // A fresh, empty database on the cluster; returns its URL.
  static std::string NewDatabase(std::string* error);
  // Runs SQL on the database at `url` (for tamper tests). False with *error on failure.
  static bool Execute(const std::string& url, const std::string& sql, std::string* error);
};

}  // namespace testing_support
}  // namespace fetal
