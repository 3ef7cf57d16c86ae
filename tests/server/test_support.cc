#include "test_support.h"

#include <brotli/decode.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "fetal/bundle.h"
#include "fetal/schema.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"

namespace fetal {
namespace testing_support {

Model TinyModel(int64_t version, float shift) {
  Model m;
  m.model_version = version;
  m.name = "tiny-test-model";
  m.created = "2026-11-28T00:00:00Z";
  m.training_data_sha256 = std::string(64, '0');
  m.figo_ruleset = "test";
  m.source = "test";
  m.params_json = "{}";
  m.base_score = {0.5f, 0.5f, 0.5f};
  m.temperature = 1.25;
  const auto& schema = FeatureSchema();
  for (int i = 0; i < kNumFeatures; ++i) {
    m.training_range.min[i] = static_cast<float>(schema[i].hard_min);
    m.training_range.max[i] = static_cast<float>(schema[i].hard_max);
    m.ood.mean[i] = 0;
    m.ood.scale[i] = 1;
  }
  m.ood.inverse_covariance.assign(kNumFeatures * kNumFeatures, 0.0);
  for (int i = 0; i < kNumFeatures; ++i) m.ood.inverse_covariance[i * kNumFeatures + i] = 1.0;
  m.ood.threshold = 1e6;
  // Splits that separate the dataset's classes a little: baseline, abnormal STV, % abnormal LTV.
  const int features[3] = {0, 7, 9};
  const float thresholds[3] = {140.0f, 50.0f, 20.0f};
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < kNumClasses; ++k) {
      Tree t;
      t.target_class = k;
      t.left = {1, -1, -1};
      t.right = {2, -1, -1};
      t.feature = {features[round], 0, 0};
      float sign = (k == 0) ? 1.0f : -1.0f;
      t.value = {thresholds[round], sign * (0.4f + shift) + 0.1f * k,
                 -sign * (0.3f - shift) - 0.05f * k};
      t.default_left = {1, 0, 0};
      t.cover = {100.0f, 60.0f, 40.0f};
      m.trees.push_back(std::move(t));
    }
  }
  return m;
}

std::string BundleBytes(const Model& model) {
  std::vector<uint8_t> bytes = WriteBundle(model);
  return std::string(bytes.begin(), bytes.end());
}

std::string WrongSchemaBundle(int64_t version) {
  std::string bytes = BundleBytes(TinyModel(version));
  const std::string from = "\"key\":\"baseline_value\"", to = "\"key\":\"baseline_valuX\"";
  size_t pos = bytes.find(from);
  if (pos == std::string::npos) throw std::runtime_error("bundle header has no baseline_value key");
  bytes.replace(pos, from.size(), to);
  auto digest = Sha256Digest(bytes.data(), bytes.size() - 32);
  bytes.replace(bytes.size() - 32, 32, std::string(digest.begin(), digest.end()));
  return bytes;
}

SigningKeys NewKeys() {
  SigningKeys keys;
  Status s = GenerateSigningKey(&keys.private_pem, &keys.public_pem);
  if (!s.ok()) throw std::runtime_error(s.ToString());
  return keys;
}

std::string Sign(const SigningKeys& keys, const std::string& bytes) {
  std::string sig;
  Status s = SignBundle(keys.private_pem, reinterpret_cast<const uint8_t*>(bytes.data()),
                        bytes.size(), &sig);
  if (!s.ok()) throw std::runtime_error(s.ToString());
  return sig;
}

std::string MakeTempDir(const std::string& tag) {
  std::string pattern = "/tmp/fetal-" + tag + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

void RemoveTree(const std::string& path) {
  if (path.size() < 12 || path.compare(0, 11, "/tmp/fetal-") != 0) return;  // never anything else
  int status;
  RunCommand("rm -rf '" + path + "'", &status);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string Decoded(const std::string& body, const std::string& coding) {
  const std::string refused = "<not decodable>";
  if (coding.empty()) return body;
  // Streamed in 64 KiB steps: the output grows with what the body decodes to. (A fixed 64 MiB
  // buffer, zero-filled per call, once made this the costliest line of the HTTP suites.)
  constexpr size_t kStep = 64 << 10, kMaxOut = 64 << 20;
  std::string out;
  size_t produced = 0;
  auto grow = [&]() {
    out.resize(produced + kStep);
    return reinterpret_cast<uint8_t*>(&out[produced]);
  };
  if (coding == "br") {
    BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (!state) return refused;
    size_t available_in = body.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(body.data());
    BrotliDecoderResult result = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
    while (result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT && produced < kMaxOut) {
      uint8_t* next_out = grow();
      size_t available_out = kStep;
      result = BrotliDecoderDecompressStream(state, &available_in, &next_in, &available_out,
                                             &next_out, nullptr);
      produced += kStep - available_out;
    }
    BrotliDecoderDestroyInstance(state);
    out.resize(produced);
    return result == BROTLI_DECODER_RESULT_SUCCESS && available_in == 0 ? out : refused;
  }
  if (coding != "gzip") return refused;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return refused;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  int rc = Z_OK;
  while (rc == Z_OK && produced < kMaxOut) {
    zs.next_out = grow();
    zs.avail_out = static_cast<uInt>(kStep);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = zs.total_out;
  }
  inflateEnd(&zs);
  out.resize(produced);
  return rc == Z_STREAM_END && zs.avail_in == 0 ? out : refused;
}

std::string RunCommand(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

bool ServerIsSanitizerBuild() {
  static const bool sanitized = [] {
    const std::string image = ReadFileOrEmpty(ServerProcess::Binary());
    return image.find("__tsan_init") != std::string::npos ||
           image.find("__asan_init") != std::string::npos;
  }();
  return sanitized;
}

std::string ServerProcess::Binary() {
  const char* given = std::getenv("FETAL_SERVER_BIN");
  return given && *given ? given : FETAL_SERVER_BIN;
}

bool ServerProcess::Start(const std::vector<std::string>& args, const std::string& log_path,
                          std::string* error) {
  std::vector<std::string> argv_s = {Binary(), "--listen", "127.0.0.1:0"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::ifstream existing(log_path);
  std::string before((std::istreambuf_iterator<char>(existing)), std::istreambuf_iterator<char>());
  const size_t offset = before.size();  // a restart appends to the same log
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    // A test process that dies without stopping the server (a crash, a sanitizer ending it) takes
    // the server with it. The signal follows the thread that forked: servers are started from
    // the test's main thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)/");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = ReadFileOrEmpty(log_path);
    std::string fresh = log.size() > offset ? log.substr(offset) : std::string();
    std::smatch m;
    if (std::regex_search(fresh, m, listening)) {
      port_ = std::atoi(m[1].str().c_str());
      return true;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *error = "fetal-server exited during start-up:\n" + fresh;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = "fetal-server printed no port within 30 s:\n" + ReadFileOrEmpty(log_path);
  Kill();
  return false;
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

ServerProcess::~ServerProcess() { Kill(); }

bool ServerProcess::alive() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return kill(pid_, 0) == 0;
}

bool SqliteExecute(const std::string& path, const std::string& sql, std::string* error) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    *error = "cannot open " + path;
    sqlite3_close(db);
    return false;
  }
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  if (message) *error = message;
  sqlite3_free(message);
  sqlite3_close(db);
  return rc == SQLITE_OK;
}

int64_t PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

std::string SanitizerReport(const std::string& output) {
  size_t first = std::string::npos;
  for (const char* marker :
       {"ThreadSanitizer:", "AddressSanitizer:", "LeakSanitizer:", ": runtime error:"}) {
    first = std::min(first, output.find(marker));
  }
  if (first == std::string::npos) return "";
  size_t line = output.rfind('\n', first);
  return output.substr(line == std::string::npos ? 0 : line + 1, 6000);
}

namespace {

struct Cluster {
  std::mutex mu;
  bool tried = false;
  std::string url, dir, error;
  int databases = 0;
  ~Cluster() {
    if (!dir.empty()) {
      int status;
      RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh stop '" + dir + "' 2>&1",
                 &status);
    }
  }
};
Cluster& TheCluster() {
  static Cluster cluster;
  return cluster;
}

}  // namespace

std::string Postgres::BaseUrl(std::string* error) {
  Cluster& c = TheCluster();
  std::lock_guard<std::mutex> lock(c.mu);
  if (!c.tried) {
    c.tried = true;
    const char* given = std::getenv("FETAL_TEST_PG_URL");
    if (given != nullptr && *given != '\0') {
      c.url = given;
    } else {
      // A port unlikely to collide with other test binaries running at the same time.
      int port = 55000 + static_cast<int>(getpid() % 5000);
      std::string dir = "/tmp/fetal-pg-http-" + std::to_string(getpid());
      int status;
      std::string out =
          RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh start '" + dir +
                         "' " + std::to_string(port) + " 2>&1",
                     &status);
      if (status == 0) {
        c.dir = dir;
        c.url = out.substr(0, out.find('\n'));
      } else {
        c.error = "cannot start a throwaway PostgreSQL: " + out;
      }
    }
  }
  if (c.url.empty()) *error = c.error;
  return c.url;
}

std::string Postgres::NewDatabase(std::string* error) {
  std::string base = BaseUrl(error);
  if (base.empty()) return {};
  std::string name;
  {
    Cluster& c = TheCluster();
    std::lock_guard<std::mutex> lock(c.mu);
    name = "http_test_" + std::to_string(getpid()) + "_" + std::to_string(++c.databases);
  }
  if (!Execute(base, "DROP DATABASE IF EXISTS " + name, error) ||
      !Execute(base, "CREATE DATABASE " + name, error)) {
    return {};
  }
  // postgresql://user@/DB?host=...  -> replace the database name
  size_t q = base.find('?');
  size_t slash = base.rfind('/', q == std::string::npos ? base.size() : q);
  return base.substr(0, slash + 1) + name + (q == std::string::npos ? "" : base.substr(q));
}

bool Postgres::Execute(const std::string& url, const std::string& sql, std::string* error) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec(sql);
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

}  // namespace testing_support
}  // namespace fetal
