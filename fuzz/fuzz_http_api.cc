// Fuzzes the HTTP request handlers end to end: a real ApiServer (the one fetal-server runs) on
// 127.0.0.1 over a real SQLite store in a temporary directory, fed fuzzed request bodies and
// query strings through cpp-httplib's client. This covers everything the handlers parse: JSON
// bodies of POST /exams and POST /exams:batch, bundle uploads (POST /models; the harness signs
// the fuzzed bytes with its own key so they get past the signature check into the bundle
// parser and self-test), and the query parameters of the list routes. It also sends what a
// hostile client would: bodies sent chunked in pieces the input chooses, compressed bodies,
// bodies nested up to half a million levels deep, and batches of up to 1000 copies of the
// fuzzed exam (up to the batch limit and past it).
//
// Promise checked: client input never causes a 5xx or a crash; every API error is the
// JSON shape {"error": {"code", "message"}}; a compressed body is always 415.
//
// Input layout: byte 0 picks the route and variant (modulo 16), the rest is the body or query
// string (for the nested and batch variants, two bytes of depth or count first).
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth.h"
#include "config.h"
#include "fetal/bundle.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"
#include "fuzz_check.h"
#include "http_server.h"
#include "model_registry.h"
#include "seed_model.h"
#include "storage/store.h"

namespace {

using fetal::storage::Store;

struct Harness {
  std::string dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<fetal::server::ModelRegistry> registry;
  std::unique_ptr<fetal::server::AuditSigner> audit_signer;
  std::unique_ptr<fetal::server::ApiServer> api;
  std::thread runner;
  std::unique_ptr<httplib::Client> client;
  std::string private_pem;
  std::string admin, clinician, auditor;
};

Harness* g = nullptr;

void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz_http_api set-up: %s\n", what.c_str());
  std::exit(1);
}

std::string Token(const char* name, const char* role) {
  std::string secret = fetal::server::GenerateToken();
  fetal::storage::TokenRecord record;
  auto s = g->store->CreateToken(name, role, fetal::server::HashToken(secret),
                                 fetal::storage::Actor{"fuzz", "admin", ""}, &record);
  if (!s.ok()) Die("token: " + s.ToString());
  return secret;
}

void SetUp() {
  g = new Harness;
  // On tmpfs when there is one: durable commits there cost no fsync, which keeps inputs/s up.
  std::string pattern = access("/dev/shm", W_OK) == 0 ? "/dev/shm/fetal-fuzz-http-XXXXXX"
                                                      : "/tmp/fetal-fuzz-http-XXXXXX";
  if (!mkdtemp(&pattern[0])) Die("mkdtemp");
  g->dir = pattern;
  fetal::storage::StoreOptions options;
  options.url = g->dir + "/fetal.db";
  auto s = Store::Open(options, &g->store);
  if (!s.ok()) Die("store: " + s.ToString());

  std::string public_pem;
  if (!fetal::GenerateSigningKey(&g->private_pem, &public_pem).ok()) Die("key");
  const std::vector<uint8_t> bytes = fetal::WriteBundle(fetal_fuzz::TinyModel());
  fetal::storage::ModelInput model;
  model.version = 1;
  model.bundle.assign(bytes.begin(), bytes.end());
  model.sha256 = fetal::Sha256Hex(model.bundle.data(), model.bundle.size());
  // Signed: the registry uses only bundles that verify with its public key.
  if (!fetal::SignBytes(g->private_pem, model.bundle, &model.signature).ok()) Die("sign");
  model.metadata_json = "{}";
  fetal::storage::ModelRecord record;
  fetal::storage::Actor system{"fuzz", "system", ""};
  s = g->store->PutModel(model, system, &record);
  if (s.ok()) s = g->store->ActivateModel(1, system);
  if (!s.ok()) Die("model: " + s.ToString());
  g->admin = Token("fuzz-admin", "admin");
  g->clinician = Token("fuzz-clinician", "clinician");
  g->auditor = Token("fuzz-auditor", "auditor");

  fetal::server::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.rate_limit = 0;
  config.threads = 4;
  config.log_requests = false;
  g->registry = std::make_unique<fetal::server::ModelRegistry>(g->store.get(), public_pem,
                                                               std::chrono::milliseconds(1000));
  bool created = false;
  std::string key_error;
  if (!fetal::server::AuditSigner::Load(g->dir + "/audit-key.pem", /*create=*/true,
                                        &g->audit_signer, &created, &key_error)) {
    Die("audit key: " + key_error);
  }
  g->api = std::make_unique<fetal::server::ApiServer>(config, g->store.get(), g->registry.get(),
                                                      g->audit_signer.get());
  int port = 0;
  std::string error;
  if (!g->api->Bind(&port, &error)) Die("bind: " + error);
  g->runner = std::thread([] { g->api->Run(); });
  g->client = std::make_unique<httplib::Client>("127.0.0.1", port);
  g->client->set_keep_alive(true);
  g->client->set_tcp_nodelay(true);  // else Nagle + delayed ACK add 40 ms to every POST
  g->client->set_read_timeout(20, 0);
  for (int i = 0; i < 100; ++i) {
    if (auto r = g->client->Get("/api/v1/health"); r && r->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Die("server not healthy");
}

void TearDown() {
  if (!g) return;
  g->client.reset();
  g->api->Stop();
  g->runner.join();
  g->api.reset();
  g->registry.reset();
  g->store.reset();
  std::string cmd = "rm -rf '" + g->dir + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", g->dir.c_str());
}

// Query strings: keep the fuzzer's bytes but percent-encode what would break the request line.
std::string QueryFrom(const uint8_t* data, size_t size) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string q;
  for (size_t i = 0; i < size; ++i) {
    unsigned char c = data[i];
    if (std::isalnum(c) || std::strchr("=&_.-:,+", c)) {
      q.push_back(static_cast<char>(c));
    } else {
      q += '%';
      q += kHex[c >> 4];
      q += kHex[c & 15];
    }
  }
  return q;
}

void CheckResponse(const httplib::Result& r, const char* route) {
  FUZZ_CHECK(static_cast<bool>(r), "the server answers (no dropped connection, no crash)");
  if (r->status >= 500) {
    std::fprintf(stderr, "%s -> %d %s\n", route, r->status, r->body.substr(0, 400).c_str());
  }
  FUZZ_CHECK(r->status < 500, "client input never causes a 5xx");
  if (r->status >= 400) {
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    FUZZ_CHECK(!j.is_discarded() && j.contains("error") && j["error"].contains("code") &&
                   j["error"].contains("message"),
               "API errors are JSON {\"error\": {\"code\", \"message\"}}");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  SetUp();
  std::atexit(TearDown);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const char* json_type =
      (selector & 0x80) ? "application/json; charset=utf-8" : "application/json";
  auto bearer = [](const std::string& token) {
    return httplib::Headers{{"Authorization", "Bearer " + token}};
  };
  httplib::Client& c = *g->client;
  // Two bytes of the input as a number, for the nested and batch variants.
  const size_t number =
      rest.size() >= 2 ? (static_cast<uint8_t>(rest[0]) << 8) | static_cast<uint8_t>(rest[1]) : 0;
  const std::string tail = rest.size() >= 2 ? rest.substr(2) : std::string();
  switch (selector % 16) {
    case 0:
      CheckResponse(c.Post("/api/v1/exams", bearer(g->clinician), rest, json_type), "POST /exams");
      break;
    case 1:
      CheckResponse(c.Post("/api/v1/exams:batch", bearer(g->clinician), rest, json_type),
                    "POST /exams:batch");
      break;
    case 2: {  // a signed upload: past the signature check, into ReadBundle and the self-test
      std::string bundle = rest;
      if (bundle.size() >= 32) {  // and past the content hash, as in fuzz_bundle
        auto digest = fetal::Sha256Digest(bundle.data(), bundle.size() - 32);
        std::memcpy(&bundle[bundle.size() - 32], digest.data(), 32);
      }
      std::string signature;
      const auto* bytes = reinterpret_cast<const uint8_t*>(bundle.data());
      if (!fetal::SignBundle(g->private_pem, bytes, bundle.size(), &signature).ok()) break;
      httplib::Headers headers = bearer(g->admin);
      headers.emplace("X-Model-Signature", signature);
      CheckResponse(c.Post("/api/v1/models", headers, bundle, "application/octet-stream"),
                    "POST /models");
      break;
    }
    case 3: {  // an upload whose signature header is fuzzed too
      size_t split = std::min<size_t>(rest.size(), 96);
      httplib::Headers headers = bearer(g->admin);
      headers.emplace("X-Model-Signature", QueryFrom(data + 1, split));
      CheckResponse(c.Post("/api/v1/models", headers, rest.substr(split),
                           "application/octet-stream"),
                    "POST /models (signature)");
      break;
    }
    case 4:
      CheckResponse(c.Get("/api/v1/exams?" + QueryFrom(data + 1, size - 1), bearer(g->auditor)),
                    "GET /exams?");
      break;
    case 5:
      CheckResponse(c.Get("/api/v1/audit?" + QueryFrom(data + 1, size - 1), bearer(g->auditor)),
                    "GET /audit?");
      break;
    case 6:
      CheckResponse(c.Get("/api/v1/exams?" + QueryFrom(data + 1, size - 1), bearer(g->clinician)),
                    "GET /exams? (clinician)");
      break;
    case 7: {  // the body chunked, in pieces of 1 to 64 bytes chosen by the input
      const size_t piece = 1 + (rest.empty() ? 0 : static_cast<uint8_t>(rest[0]) % 64);
      auto provider = [&rest, piece](size_t offset, httplib::DataSink& sink) {
        if (offset < rest.size()) {
          sink.write(rest.data() + offset, std::min(piece, rest.size() - offset));
        } else {
          sink.done();
        }
        return true;
      };
      CheckResponse(c.Post(selector & 0x40 ? "/api/v1/exams:batch" : "/api/v1/exams",
                           bearer(g->clinician), provider, json_type),
                    "POST /exams (chunked)");
      break;
    }
    case 8: {  // a compressed body, refused from its headers whatever it holds
      static const char* const kCodings[] = {"gzip", "br", "deflate", "compress", "x-fuzz"};
      httplib::Headers headers = bearer(g->clinician);
      headers.emplace("Content-Encoding",
                      kCodings[(rest.empty() ? 0 : static_cast<uint8_t>(rest[0])) % 5]);
      auto r = c.Post(selector & 0x40 ? "/api/v1/exams:batch" : "/api/v1/exams", headers, rest,
                      json_type);
      CheckResponse(r, "POST /exams (compressed)");
      FUZZ_CHECK(r->status == 415, "a compressed body is refused with 415");
      break;
    }
    case 9: {  // the fuzzed text nested up to 524,288 levels deep inside a batch's exam
      const size_t depth = 1 + number * 8;
      std::string body = "{\"exams\":[{\"client_exam_id\":";
      body.append(depth, '[');
      body += tail;
      body.append(depth, ']');
      body += "}]}";
      CheckResponse(c.Post("/api/v1/exams:batch", bearer(g->clinician), body, json_type),
                    "POST /exams:batch (nested)");
      break;
    }
    case 10: {  // a batch of 1 to 1000 copies of the fuzzed exam
      const size_t count = 1 + number % 1000;
      std::string body = "{\"exams\":[";
      body.reserve(count * (tail.size() + 1) + 16);
      for (size_t i = 0; i < count; ++i) {
        if (i) body += ',';
        body += tail;
      }
      body += "]}";
      CheckResponse(c.Post("/api/v1/exams:batch", bearer(g->clinician), body, json_type),
                    "POST /exams:batch (large)");
      break;
    }
    default: break;
  }
  return 0;
}
