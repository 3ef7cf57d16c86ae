// What a hostile client can send, against a real fetal-server (docs/api.md "Limits" and
// "Strings and numbers"). Every case checks the same promises: the request gets its 4xx, the
// server stays up, its peak memory (VmHWM) grows by at most a stated bound, nothing refused is
// stored, and /audit/verify stays ok. Requests a client library will not send (compressed,
// endless chunked or length-less bodies, oversized headers) go over a raw socket (raw_http.h).
//
// HostileHttpTest runs on SQLite (the HTTP layer is the same on both backends);
// StoredValueTest, about what reaches the database, runs on SQLite and PostgreSQL.
#include <zlib.h>

#include <chrono>
#include <thread>

#include "raw_http.h"
#include "server_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

constexpr int64_t kExamLimit = 64 * 1024;         // --max-exam-body default
constexpr int64_t kBatchLimit = 8 * 1024 * 1024;  // --max-batch-body default
// Peak memory may grow by twice the route's body limit (the body and, while parsing, its
// tree) plus this much for everything a request touches besides (thread stacks, allocator
// arenas, the answer).
constexpr int64_t kSlackKb = 8 * 1024;

int64_t BoundKb(int64_t route_limit) { return 2 * route_limit / 1024 + kSlackKb; }

class HostileClientTest : public ServerFixture {
 protected:
  int64_t PeakKb() { return PeakRssKb(server_.pid()); }

  // Peak memory grew by at most `bound_kb` since `before_kb` (printed for the record). A
  // sanitizer's allocator and shadow memory multiply what the server holds: the bound is then
  // printed but not enforced (the other promises are). The server may be another build's
  // (FETAL_SERVER_BIN), so this asks its binary, not this program's compiler.
  void ExpectPeakGrowthWithin(int64_t before_kb, int64_t bound_kb) {
    const int64_t grown = PeakKb() - before_kb;
    std::printf("[ memory   ] %s: peak RSS grew by %lld KiB (bound %lld KiB%s)\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                static_cast<long long>(grown), static_cast<long long>(bound_kb),
                ServerIsSanitizerBuild() ? ", not enforced under a sanitizer" : "");
    if (!ServerIsSanitizerBuild()) {
      EXPECT_LE(grown, bound_kb);
    }
  }

  int64_t StoredExams() {
    auto r = Get("/api/v1/metrics", admin_);
    if (!r || r->status != 200) return -1;
    const std::string key = "\nfetal_exams_stored ";
    size_t at = r->body.find(key);
    return at == std::string::npos ? -1 : std::atoll(r->body.c_str() + at + key.size());
  }

  // The server is up, healthy and its chain verifies.
  void ExpectStillServing() {
    ASSERT_TRUE(server_.alive()) << "the server died";
    auto h = Get("/api/v1/health");
    ASSERT_TRUE(h) << "the server does not answer";
    EXPECT_EQ(h->status, 200) << h->body;
    json v = Body(Get("/api/v1/audit/verify", auditor_));
    EXPECT_EQ(v["ok"], true) << v.dump();
  }

  // A request head by hand: `extra` holds further header lines, each ending in \r\n.
  std::string Head(const std::string& method, const std::string& path, const std::string& token,
                   const std::string& extra) const {
    std::string head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
    return head + extra + "\r\n";
  }

  static void ExpectError(const RawResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.headers << "\n" << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["error"]["code"], code) << r.body;
  }

  static void ExpectError(const httplib::Result& r, int status, const std::string& code) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(Body(r)["error"]["code"], code) << r->body;
  }
};

class HostileHttpTest : public HostileClientTest {};
class StoredValueTest : public HostileClientTest {};

// A generator of `total` bytes in pieces of `piece` bytes (the last one shorter).
std::function<std::string()> Bytes(size_t total, size_t piece, char fill = 'x') {
  auto left = std::make_shared<size_t>(total);
  return [left, piece, fill] {
    size_t n = std::min(*left, piece);
    *left -= n;
    return std::string(n, fill);
  };
}

// gzip of `size` zero bytes, deflated in a stream (the bomb is never in memory as a whole).
std::string GzipOfZeros(size_t size) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out;
  std::string zeros(1 << 20, '\0');
  char buf[1 << 16];
  for (size_t done = 0; done < size;) {
    size_t n = std::min(zeros.size(), size - done);
    done += n;
    z.next_in = reinterpret_cast<Bytef*>(zeros.data());
    z.avail_in = static_cast<uInt>(n);
    const int flush = done == size ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      deflate(&z, flush);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

// --- the table -------------------------------------------------------------------------

// A clinician's batch whose client_exam_id nests 300,000 levels deep (600 KB): the process
// used to die walking it recursively. It is refused by a linear scan before it is parsed.
TEST_P(HostileHttpTest, DeeplyNestedJsonIs400BeforeItIsParsed) {
  const int64_t before = PeakKb();
  const int64_t stored = StoredExams();
  json exam = Exam("deep");
  exam["client_exam_id"] = "PLACEHOLDER";
  std::string text = json{{"exams", {exam}}}.dump();
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  text.replace(text.find("\"PLACEHOLDER\""), 13, deep);
  ASSERT_GT(text.size(), 600000u);
  ASSERT_LT(static_cast<int64_t>(text.size()), kBatchLimit);
  auto r = Post("/api/v1/exams:batch", clinician_, text);
  ExpectError(r, 400, "json_too_deep");
  EXPECT_EQ(Body(r)["error"]["field"], "body");
  // The same on POST /exams, and one level past the limit is enough.
  std::string exam_text = Exam("deep-2").dump();
  exam_text.insert(exam_text.size() - 1,
                   ",\"note\":" + std::string(17, '[') + std::string(17, ']'));
  ExpectError(Post("/api/v1/exams", clinician_, exam_text), 400, "json_too_deep");
  ExpectPeakGrowthWithin(before, BoundKb(kBatchLimit));
  EXPECT_EQ(StoredExams(), stored);
  ExpectStillServing();
}

// 0.5 MB of gzip that inflates to 512 MiB: cpp-httplib would inflate it before any limit (the
// process peaked at 1,084 MiB). Compressed bodies are refused from the headers alone, with or
// without a token, and the connection is closed without reading the body.
TEST_P(HostileHttpTest, CompressedBodiesAre415BeforeTheyAreInflated) {
  const std::string bomb = GzipOfZeros(size_t{512} << 20);
  ASSERT_LT(bomb.size(), 1u << 20);
  const int64_t before = PeakKb();
  const int64_t stored = StoredExams();
  for (const std::string& token : {std::string(), clinician_}) {
    RawHttp c(server_.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(Head("POST", "/api/v1/exams", token,
                            "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                            "Content-Length: " +
                                std::to_string(bomb.size()) + "\r\n")));
    size_t offset = 0;
    c.SendUntilAnswered([&] {
      std::string piece = bomb.substr(offset, 16384);
      offset += piece.size();
      return piece;
    });
    RawResponse res = c.Read();
    ExpectError(res, 415, "unsupported_media_type");
    EXPECT_NE(res.body.find("Content-Encoding"), std::string::npos) << res.body;
    EXPECT_TRUE(res.closed) << "the unread body must not be taken for the next request";
  }
  for (const char* coding : {"br", "deflate", "GZIP"}) {
    RawHttp c(server_.port());
    c.Send(Head("POST", "/api/v1/exams:batch", clinician_,
                "Content-Type: application/json\r\nContent-Encoding: " + std::string(coding) +
                    "\r\nContent-Length: 4\r\n") +
           "abcd");
    ExpectError(c.Read(), 415, "unsupported_media_type");
  }
  // A compressing transfer coding is no way around it.
  RawHttp te(server_.port());
  te.Send(Head("POST", "/api/v1/exams", clinician_,
               "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n"));
  ExpectError(te.Read(), 400, "bad_request");
  ExpectPeakGrowthWithin(before, BoundKb(kExamLimit));
  EXPECT_EQ(StoredExams(), stored);
  ExpectStillServing();
}

// [1e-310, 0.5, 0.5] used to be stored (201), then read back as corrupt (strtod flags the
// subnormal as an underflow), failing GET and /audit/verify forever. Numbers that cannot be
// stored and read back exactly are refused, naming the field.
TEST_P(StoredValueTest, SubnormalNumbersAre422AndNothingIsStored) {
  const int64_t before = PeakKb();
  const int64_t stored = StoredExams();
  json exam = Exam("subnormal");
  exam["client_result"]["probabilities"] = {1e-310, 0.5, 0.5};
  auto r = Post("/api/v1/exams", clinician_, exam.dump());
  ExpectError(r, 422, "validation_failed");
  json body = Body(r);
  EXPECT_EQ(body["error"]["field"], "client_result.probabilities[0]") << body.dump();
  EXPECT_EQ(body["error"]["details"][0]["rule"], "subnormal") << body.dump();

  json feature = Exam("subnormal-feature");
  feature["features"]["accelerations"] = 5e-324;
  r = Post("/api/v1/exams", clinician_, feature.dump());
  ExpectError(r, 422, "validation_failed");
  EXPECT_EQ(Body(r)["error"]["field"], "features.accelerations") << r->body;

  json batch = {{"exams", {Exam("fine"), exam}}};
  r = Post("/api/v1/exams:batch", clinician_, batch.dump());
  ExpectError(r, 422, "validation_failed");
  EXPECT_EQ(Body(r)["error"]["field"], "exams[1].client_result.probabilities[0]") << r->body;

  // Beyond a double: not JSON this server reads.
  json too_big = Exam("huge");
  too_big["features"]["accelerations"] = 12345.5;
  std::string huge = too_big.dump();
  huge.replace(huge.find("12345.5"), 7, "1e400");
  ExpectError(Post("/api/v1/exams", clinician_, huge), 400, "malformed_json");
  EXPECT_EQ(StoredExams(), stored);

  // The smallest normal number and -0 are stored and read back bit for bit.
  json edge = Exam("edge");
  edge["features"]["accelerations"] = 2.2250738585072014e-308;
  edge["features"]["fetal_movement"] = -0.0;
  json created = Submit(edge, clinician_);
  auto got = Get("/api/v1/exams/" + created["id"].dump(), auditor_);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  json back = Body(got);
  EXPECT_EQ(back["features"]["accelerations"].get<double>(), 2.2250738585072014e-308);
  EXPECT_NE(got->body.find("\"fetal_movement\":-0"), std::string::npos) << got->body;
  EXPECT_EQ(back["content_sha256"], created["content_sha256"]);
  ExpectPeakGrowthWithin(before, BoundKb(kBatchLimit));
  ExpectStillServing();
}

// ?submitted_by=a&submitted_by=b used to filter by one value and record the other. A repeated or
// unknown parameter is a 400 on every API route.
TEST_P(HostileHttpTest, RepeatedOrUnknownQueryParametersAre400OnEveryRoute) {
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"/api/v1/health", ""},
      {"/api/v1/session", clinician_},
      {"/api/v1/metrics", admin_},
      {"/api/v1/exams", auditor_},
      {"/api/v1/exams/1", auditor_},
      {"/api/v1/audit", auditor_},
      {"/api/v1/audit/1", auditor_},
      {"/api/v1/audit/verify", auditor_},
      {"/api/v1/audit/checkpoint", auditor_},
      {"/api/v1/audit/checkpoints", auditor_},
      {"/api/v1/models", ""},
      {"/api/v1/models/active", ""},
      {"/api/v1/models/1", ""},
      {"/api/v1/models/1/signature", ""},
  };
  for (const auto& [path, token] : routes) {
    auto r = Get(path + "?colour=red", token);
    SCOPED_TRACE(path);
    ExpectError(r, 400, "invalid_parameter");
    EXPECT_EQ(Body(r)["error"]["field"], "colour") << path;
  }
  for (const char* query :
       {"submitted_by=a&submitted_by=b", "limit=1&limit=2", "class=Normal&class=Normal"}) {
    auto r = Get(std::string("/api/v1/exams?") + query, auditor_);
    ExpectError(r, 400, "invalid_parameter");
    EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("2 times"), std::string::npos)
        << r->body;
  }
  ExpectError(Get("/api/v1/audit?after=1&after=2", auditor_), 400, "invalid_parameter");
  ExpectError(Get("/api/v1/audit/checkpoints?limit=1&limit=2", auditor_), 400, "invalid_parameter");
  const std::string hash(64, '0');
  ExpectError(Get("/api/v1/audit/verify?seq=0&hash=" + hash + "&seq=1", auditor_), 400,
              "invalid_parameter");
  ExpectError(Get("/api/v1/audit/verify?seq=0&hash=" + hash + "&hash=" + hash, auditor_), 400,
              "invalid_parameter");
  EXPECT_EQ(Get("/api/v1/audit/verify?seq=0&hash=" + hash, auditor_)->status, 200)
      << "the anchor's parameters are taken once each";
  ExpectError(Post("/api/v1/audit/checkpoint?sign=1", auditor_, "", "application/json"), 400,
              "invalid_parameter");
  EXPECT_EQ(Body(Get("/api/v1/audit/checkpoints", auditor_))["checkpoints"].size(), 0u)
      << "no checkpoint was stored";
  ExpectError(Get("/api/v1/exams?limit=1%00", auditor_), 400, "invalid_parameter");
  ExpectError(Get("/api/v1/exams?limit=+5", auditor_), 400, "invalid_parameter");
  const std::string v2 = BundleBytes(TinyModel(2));
  ExpectError(Post("/api/v1/models?activate=yes", admin_, v2, "application/octet-stream",
                   {{"X-Model-Signature", Sign(keys_, v2)}}),
              400, "invalid_parameter");
  ExpectError(Post("/api/v1/models/1/activate?now=1", admin_, "", "application/json"), 400,
              "invalid_parameter");
  EXPECT_EQ(Body(Get("/api/v1/models"))["models"].size(), 1u) << "nothing was uploaded";
  // Static files are not API routes: caches and the service worker may add a query.
  EXPECT_EQ(Get("/index.html?v=1&v=2")->status, 200);
  ExpectStillServing();
}

// The exam.list and audit.list events record the filter that was applied (defaults included,
// a clinician's own principal), not the query as written.
TEST_P(StoredValueTest, ReadsRecordTheFilterThatWasApplied) {
  Submit(Exam("filtered"), clinician_);
  const int64_t clinician_id = Body(Get("/api/v1/session", clinician_))["token_id"];
  ASSERT_EQ(Get("/api/v1/exams?class=Normal&limit=5&submitted_by=nurse-a", clinician_)->status,
            200);
  ASSERT_EQ(Get("/api/v1/exams?submitted_by=nurse-b&from=1000", auditor_)->status, 200);
  json events = Body(Get("/api/v1/audit?limit=1000", auditor_))["events"];
  std::vector<json> lists;
  for (const auto& e : events) {
    if (e["action"] == "exam.list") lists.push_back(json::parse(e["details"].get<std::string>()));
  }
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0], (json{{"class", "Normal"},
                            {"limit", 5},
                            {"submitted_by", "nurse-a"},
                            {"submitted_by_id", clinician_id}}));
  EXPECT_EQ(lists[1], (json{{"from_ms", 1000}, {"limit", 100}, {"submitted_by", "nurse-b"}}));
  ASSERT_EQ(Get("/api/v1/audit?limit=3", auditor_)->status, 200);
  json last = Body(Get("/api/v1/audit?after=0&limit=1000", auditor_))["events"];
  json list_details;
  for (const auto& e : last) {
    if (e["action"] == "audit.list") list_details = json::parse(e["details"].get<std::string>());
  }
  EXPECT_EQ(list_details, (json{{"after", 0}, {"limit", 3}}));
}

// --- found by reading the code -----------------------------------------------------------------

// Chunked bodies were read whole before any limit applied. They are counted as they arrive and
// cut at the route's limit; a chunked body within it works as any other.
TEST_P(HostileHttpTest, ChunkedBodiesAreCutAtTheLimit) {
  const int64_t before = PeakKb();
  const int64_t stored = StoredExams();
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";  // 64 KiB each
  struct Case {
    std::string path;
    int64_t limit;
  };
  for (const Case& c :
       {Case{"/api/v1/exams", kExamLimit}, Case{"/api/v1/exams:batch", kBatchLimit}}) {
    RawHttp conn(server_.port());
    ASSERT_TRUE(
        conn.Send(Head("POST", c.path, clinician_,
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n")));
    size_t chunks = 0;  // up to 256 MiB
    const size_t sent = conn.SendUntilAnswered([&] { return ++chunks <= 4096 ? chunk : ""; });
    RawResponse r = conn.Read();
    ExpectError(r, 413, "payload_too_large");
    EXPECT_TRUE(r.closed);
    EXPECT_LT(sent, size_t{256} << 20) << "the server kept reading";
  }
  // Endless chunk-size lines count too.
  RawHttp lines(server_.port());
  lines.Send(Head("POST", "/api/v1/exams", clinician_,
                  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"));
  lines.SendUntilAnswered(Bytes(size_t{64} << 20, 65536, '0'));
  RawResponse r = lines.Read();
  EXPECT_TRUE(r.status == 413 || r.status == 400) << r.headers;
  EXPECT_TRUE(r.closed);
  ExpectPeakGrowthWithin(before, BoundKb(kBatchLimit));

  // A chunked exam within the limit is an exam.
  const std::string body = Exam("chunked").dump();
  std::string chunked;
  for (size_t i = 0; i < body.size(); i += 100) {
    std::string piece = body.substr(i, 100);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  RawHttp ok(server_.port());
  ok.Send(Head("POST", "/api/v1/exams", clinician_,
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
          chunked);
  RawResponse created = ok.Read(10000, 200);
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_FALSE(created.closed) << "an accepted request keeps its connection";
  EXPECT_EQ(StoredExams(), stored + 1);
  ExpectStillServing();
}

// A body without Content-Length or chunked encoding was read until the connection closed. Such a
// request has no body; a route that needs one says so (411) and closes the connection rather
// than read what follows as a request.
TEST_P(HostileHttpTest, BodiesWithoutALengthAreNotRead) {
  const int64_t before = PeakKb();
  const int64_t stored = StoredExams();
  RawHttp c(server_.port());
  ASSERT_TRUE(c.Send(
      Head("POST", "/api/v1/exams:batch", clinician_, "Content-Type: application/json\r\n")));
  const size_t sent = c.SendUntilAnswered(Bytes(size_t{256} << 20, 65536, '['));
  RawResponse r = c.Read();
  ExpectError(r, 411, "length_required");
  EXPECT_TRUE(r.closed);
  EXPECT_LT(sent, size_t{256} << 20);
  ExpectPeakGrowthWithin(before, BoundKb(kExamLimit));
  EXPECT_EQ(StoredExams(), stored);
  ExpectStillServing();
}

// A Content-Length over the route's limit is refused from the headers, before any of the body is
// sent or read, with or without a token.
TEST_P(HostileHttpTest, ContentLengthOverTheLimitIs413BeforeTheBodyIsRead) {
  for (const std::string& token : {std::string(), clinician_}) {
    RawHttp c(server_.port());
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.Send(Head("POST", "/api/v1/exams", token,
                            "Content-Type: application/json\r\nContent-Length: 1073741824\r\n")));
    RawResponse r = c.Read(10000, 3000);
    ExpectError(r, 413, "payload_too_large");
    EXPECT_TRUE(r.closed);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5))
        << "answered without waiting for a body";
  }
  for (const char* bad : {"Content-Length: 12abc\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n",
                          "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"}) {
    RawHttp c(server_.port());
    c.Send(Head("POST", "/api/v1/exams", clinician_,
                "Content-Type: application/json\r\n" + std::string(bad)));
    ExpectError(c.Read(), 400, "bad_request");
  }
  // The route's own media type, also before the body.
  RawHttp c(server_.port());
  c.Send(Head("POST", "/api/v1/exams", clinician_,
              "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n"));
  ExpectError(c.Read(), 415, "unsupported_media_type");
  ExpectStillServing();
}

// The request line and headers share one budget (cpp-httplib keeps any number of header lines of
// any length).
TEST_P(HostileHttpTest, HeadersAreBounded) {
  const int64_t before = PeakKb();
  RawHttp many(server_.port());
  many.Send("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n");
  size_t n = 0;
  many.SendUntilAnswered([&] {
    return ++n <= 20000 ? "X-Filler-" + std::to_string(n) + ": " + std::string(100, 'a') + "\r\n"
                        : "";
  });
  RawResponse r = many.Read();
  ExpectError(r, 431, "headers_too_large");
  EXPECT_TRUE(r.closed);

  RawHttp line(server_.port());
  line.Send("GET /api/v1/health?");
  line.SendUntilAnswered(Bytes(size_t{32} << 20, 65536, 'a'));
  RawResponse r2 = line.Read();
  ExpectError(r2, 431, "headers_too_large");
  EXPECT_TRUE(r2.closed);
  ExpectPeakGrowthWithin(before, kSlackKb);
  ExpectStillServing();
}

// Methods the API does not have, unknown POST paths and GET bodies are refused without reading
// a body (cpp-httplib would read one into memory first, chunked without a limit).
TEST_P(HostileHttpTest, OtherMethodsUnknownPathsAndGetBodiesAreRefusedUnread) {
  const int64_t before = PeakKb();
  for (const char* method : {"PUT", "PATCH", "DELETE", "OPTIONS"}) {
    RawHttp c(server_.port());
    c.Send(Head(method, "/api/v1/exams/1", admin_,
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"));
    c.SendUntilAnswered(Bytes(size_t{64} << 20, 65536, '1'));
    RawResponse r = c.Read();
    ExpectError(r, 405, "method_not_allowed");
    EXPECT_TRUE(r.closed) << method;
  }
  RawHttp unknown(server_.port());
  unknown.Send(Head("POST", "/api/v1/nothing", clinician_,
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"));
  unknown.SendUntilAnswered(Bytes(size_t{64} << 20, 65536, '1'));
  RawResponse r = unknown.Read();
  ExpectError(r, 404, "not_found");
  EXPECT_TRUE(r.closed);
  RawHttp get(server_.port());
  get.Send(Head("GET", "/api/v1/health", "", "Content-Length: 5\r\n") + "GET /");
  ExpectError(get.Read(), 400, "bad_request");
  ExpectPeakGrowthWithin(before, kSlackKb);
  ExpectStillServing();
}

// Too many JSON values (a tree many times the body's size) are refused before parsing.
TEST_P(HostileHttpTest, TooManyJsonValuesAre413BeforeParsing) {
  const int64_t before = PeakKb();
  std::string body = "{\"exams\":[";
  while (body.size() < static_cast<size_t>(kBatchLimit) - 64) body += "{},";
  body += "{}]}";
  auto r = Post("/api/v1/exams:batch", clinician_, body);
  ExpectError(r, 413, "payload_too_large");
  EXPECT_EQ(Body(r)["error"]["field"], "body");
  ExpectPeakGrowthWithin(before, BoundKb(kBatchLimit));
  ExpectStillServing();
}

// Bad values were copied whole into the error list (and printed recursively). An error carries
// a short excerpt; at most 200 errors are listed, all are counted. A string too long for any
// field is refused before the body is parsed.
TEST_P(HostileHttpTest, ErrorDetailsCarryExcerptsNotCopies) {
  const int64_t before = PeakKb();
  json batch = {{"exams", json::array()}};
  for (int i = 0; i < 120; ++i) {
    json exam = Exam("long-" + std::to_string(i));
    exam["client_exam_id"] = std::string(60000, 'a' + i % 26);
    batch["exams"].push_back(exam);
  }
  auto r = Post("/api/v1/exams:batch", clinician_, batch.dump());
  ExpectError(r, 422, "validation_failed");
  EXPECT_LT(r->body.size(), 120u * 1000) << "the answer copies the values";
  json detail = Body(r)["error"]["details"][7];
  EXPECT_EQ(detail["field"], "exams[7].client_exam_id");
  EXPECT_EQ(detail["value"], std::string(64, 'h') + "...");
  EXPECT_LT(detail["message"].get<std::string>().size(), 300u);

  json keys = Exam("many-keys");
  for (int i = 0; i < 1000; ++i) keys["x" + std::to_string(i) + std::string(1000, 'k')] = i;
  r = Post("/api/v1/exams:batch", clinician_, json{{"exams", {keys}}}.dump());
  ExpectError(r, 422, "validation_failed");
  json body = Body(r);
  EXPECT_EQ(body["error"]["details"].size(), 200u);
  EXPECT_NE(body["error"]["message"].get<std::string>().find("1000 fields are invalid"),
            std::string::npos)
      << body["error"]["message"];
  EXPECT_LT(body["error"]["details"][0]["field"].get<std::string>().size(), 100u);

  json huge = Exam("huge-id");
  huge["client_exam_id"] = std::string(7 << 20, 'a');
  r = Post("/api/v1/exams:batch", clinician_, json{{"exams", {huge}}}.dump());
  ExpectError(r, 413, "payload_too_large");
  EXPECT_EQ(Body(r)["error"]["field"], "body");
  ExpectPeakGrowthWithin(before, BoundKb(kBatchLimit));
  ExpectStillServing();
}

// At most N requests of one token in flight: a client holding requests open (here, bodies it
// never finishes sending) cannot take every worker, and other tokens are not affected.
TEST_P(HostileHttpTest, InFlightRequestsPerTokenAreLimited) {
  server_.Kill();
  std::vector<std::string> args = DefaultArgs();
  for (const char* a : {"--max-in-flight", "2"}) args.push_back(a);
  ASSERT_TRUE(StartServer(args));
  // Two requests held in flight: the server waits for the rest of their bodies.
  std::vector<std::unique_ptr<RawHttp>> held(2);
  auto hold = [&](size_t i) {
    held[i] = std::make_unique<RawHttp>(server_.port());
    return held[i]->Send(Head("POST", "/api/v1/exams", clinician_,
                              "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
                         "5\r\n{\"cli");
  };
  for (size_t i = 0; i < held.size(); ++i) ASSERT_TRUE(hold(i));
  // The third request of the token is refused. On a loaded machine the server may admit a held
  // request only while one of these polls (same token) holds a slot, and refuse it: 429 for the
  // held request, not the poll. Such a request is sent again; two clean-clone runs failed on it.
  // The wait is bounded by time, half the server's 10 s read timeout (which would end the held
  // requests), and a failure says what the held requests got.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto r = Get("/api/v1/session", clinician_);
  while (r && r->status != 429 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (size_t i = 0; i < held.size(); ++i) {
      if (held[i]->Read(/*timeout_ms=*/0, /*close_wait_ms=*/0).status == 429) {
        ASSERT_TRUE(hold(i));
      }
    }
    r = Get("/api/v1/session", clinician_);
  }
  if (!r || r->status != 429) {
    for (auto& h : held) {
      const RawResponse answer = h->Read(/*timeout_ms=*/200, /*close_wait_ms=*/0);
      ADD_FAILURE() << "a held request got status " << answer.status << " (0: none yet)";
    }
  }
  ExpectError(r, 429, "too_many_in_flight");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(Get("/api/v1/session", clinician2_)->status, 200) << "another token is not limited";
  held.clear();  // the clients give up: their requests end
  for (int i = 0; i < 100 && Get("/api/v1/session", clinician_)->status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Get("/api/v1/session", clinician_)->status, 200);
  ExpectStillServing();
}

// --- what reaches the database -----------------------------------------------------------------

// A note holding \u0000 went to PostgreSQL as a C string: stored cut short while its hash covered
// all of it. Text that cannot be stored exactly is refused, naming the field; tab, line feed,
// carriage return and any Unicode read back byte for byte.
TEST_P(StoredValueTest, ControlCharactersAndNulAre422AndTextReadsBackExactly) {
  const int64_t before = PeakKb();
  const int64_t stored = StoredExams();
  for (const char* field : {"note", "patient_ref"}) {
    for (const std::string& bad : {std::string("before\0after", 12), std::string("bell\x07"),
                                   std::string("esc\x1b[31m"), std::string("del\x7f")}) {
      json exam = Exam("control");
      exam[field] = bad;
      auto r = Post("/api/v1/exams", clinician_, exam.dump());
      ExpectError(r, 422, "validation_failed");
      json body = Body(r);
      EXPECT_EQ(body["error"]["field"], field) << body.dump();
      EXPECT_EQ(body["error"]["details"][0]["rule"], "forbidden_character") << body.dump();
    }
  }
  // A filter is text that reaches the database too.
  auto bad_filter = Get("/api/v1/exams?submitted_by=nurse%00a", auditor_);
  ExpectError(bad_filter, 400, "invalid_parameter");
  EXPECT_EQ(Body(bad_filter)["error"]["field"], "submitted_by");
  json batch = {{"exams", {Exam("ok-1"), Exam("nul")}}};
  batch["exams"][1]["note"] = std::string("a\0b", 3);
  auto r = Post("/api/v1/exams:batch", clinician_, batch.dump());
  ExpectError(r, 422, "validation_failed");
  EXPECT_EQ(Body(r)["error"]["field"], "exams[1].note");
  EXPECT_EQ(StoredExams(), stored);

  json fine = Exam("text");
  fine["note"] = "line 1\r\nline 2\ttabbed \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \"quoted\" \\";
  fine["patient_ref"] = "MRN \xe2\x80\x94 7";
  json created = Submit(fine, clinician_);
  json back = Body(Get("/api/v1/exams/" + created["id"].dump(), auditor_));
  EXPECT_EQ(back["note"], fine["note"]);
  EXPECT_EQ(back["patient_ref"], fine["patient_ref"]);
  EXPECT_EQ(back["content_sha256"], created["content_sha256"]);
  EXPECT_EQ(StoredExams(), stored + 1);
  ExpectPeakGrowthWithin(before, BoundKb(kBatchLimit));
  ExpectStillServing();
}

// Exams and idempotency keys belong to the token (principal), not to its name; a revoked name is
// never handed to another token.
TEST_P(StoredValueTest, ExamsBelongToTheTokenAndRevokedNamesAreNeverReused) {
  json exam = Exam("ward-exam");
  json created = Submit(exam, clinician_);
  const int64_t old_id = Body(Get("/api/v1/session", clinician_))["token_id"];
  EXPECT_EQ(created["submitted_by_id"], old_id);
  const std::string path = "/api/v1/exams/" + created["id"].dump();

  int status;
  std::string out = RunCommand(Quote(ServerProcess::Binary()) + " token revoke " +
                                   std::to_string(old_id) + CliArgs() + " 2>&1",
                               &status);
  ASSERT_EQ(status, 0) << out;
  out = RunCommand(Quote(ServerProcess::Binary()) +
                       " token create --role clinician --name nurse-a" + CliArgs() + " 2>&1",
                   &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("never reused"), std::string::npos) << out;

  const std::string successor = CreateToken("clinician", "nurse-a-2");
  ASSERT_FALSE(successor.empty());
  ExpectError(Get(path, successor), 404, "not_found");
  EXPECT_EQ(Body(Get("/api/v1/exams", successor))["exams"].size(), 0u);
  // The same key from another principal is another exam, not a replay of the old one.
  auto again = Post("/api/v1/exams", successor, exam.dump());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201) << again->body;
  EXPECT_NE(Body(again)["id"], created["id"]);
  // The auditor still reads the old exam, with its owner.
  json old = Body(Get(path, auditor_));
  EXPECT_EQ(old["submitted_by"], "nurse-a");
  EXPECT_EQ(old["submitted_by_id"], old_id);
  ExpectStillServing();
}

// /audit/verify used to stop at the first problem, so one damaged row hid every later tampering.
// It lists every bad event, and walks on past an exam row it cannot read.
TEST_P(StoredValueTest, VerifyListsEveryProblemAndWalksPastUnreadableRows) {
  std::vector<json> exams;
  for (int i = 0; i < 6; ++i) exams.push_back(Submit(Exam("v-" + std::to_string(i)), clinician_));
  ASSERT_EQ(Body(Get("/api/v1/audit/verify", auditor_))["ok"], true);
  const int64_t unreadable = exams[1]["id"], edited = exams[4]["id"];
  // The audit.verify event of the check above: an event that covers no exam.
  const int64_t tampered_seq = exams[5]["audit_seq"].get<int64_t>() + 1;
  RawSql("UPDATE exams SET features = 'garbage' WHERE id = " + std::to_string(unreadable));
  RawSql("UPDATE exams SET note = 'edited later' WHERE id = " + std::to_string(edited));
  RawSql("UPDATE audit SET details = 'nothing to see' WHERE seq = " + std::to_string(tampered_seq));
  json v = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["problem_count"], 3) << v.dump();
  ASSERT_EQ(v["problems"].size(), 3u) << v.dump();
  std::set<int64_t> seqs;
  for (const auto& p : v["problems"]) seqs.insert(p["seq"].get<int64_t>());
  EXPECT_EQ(seqs, (std::set<int64_t>{exams[1]["audit_seq"], tampered_seq, exams[4]["audit_seq"]}));
  EXPECT_EQ(v["first_bad_seq"], exams[1]["audit_seq"]);
  EXPECT_NE(v["problems"][0]["problem"].get<std::string>().find("unreadable"), std::string::npos)
      << v.dump();
  // The whole chain was walked, up to the latest event.
  json cp = Body(Get("/api/v1/audit/checkpoint", auditor_));
  EXPECT_GE(v["length"].get<int64_t>(), cp["seq"].get<int64_t>() - 2);

  // More problems than are listed: the first 100 in seq order, all of them counted.
  json batch = {{"exams", json::array()}};
  for (int i = 0; i < 150; ++i) batch["exams"].push_back(Exam("many-" + std::to_string(i)));
  auto r = Post("/api/v1/exams:batch", clinician_, batch.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  RawSql("UPDATE exams SET note = 'edited later' WHERE client_exam_id LIKE 'many-%'");
  v = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(v["ok"], false);
  EXPECT_EQ(v["problem_count"], 153) << v["problem"];
  EXPECT_EQ(v["problems"].size(), 100u);
  EXPECT_EQ(v["first_bad_seq"], exams[1]["audit_seq"]);
  EXPECT_EQ(v["problems"][99]["seq"].get<int64_t>() - v["problems"][3]["seq"].get<int64_t>(), 96)
      << "one problem per edited exam, in seq order";
}

INSTANTIATE_TEST_SUITE_P(Backends, HostileHttpTest, ::testing::Values("sqlite"), BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, StoredValueTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
