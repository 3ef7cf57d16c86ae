// Crash safety through the real server: clients submit exams in a loop, the server is killed with
// SIGKILL mid-run and restarted on the same data; every acknowledged exam must be there unchanged,
// a retry of an acknowledged exam must be a replay (no duplicate), and the audit chain must verify.
#include <atomic>
#include <mutex>
#include <thread>

#include "server_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

class CrashTest : public ServerFixture {};

struct Acknowledged {
  std::string client_exam_id;
  int64_t id;
  std::string content_sha256;
  std::string body;
};

TEST_P(CrashTest, AcknowledgedExamsSurviveSigkill) {
  constexpr int kClients = 8;
  std::mutex mu;
  std::vector<Acknowledged> acknowledged;
  std::atomic<int> submitted{0}, failed{0};
  std::atomic<bool> stop{false};
  const int port = server_.port();
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(10, 0);
      for (int i = 0; !stop.load(); ++i) {
        json exam = Exam("crash-" + std::to_string(c) + "-" + std::to_string(i));
        exam["note"] = "client " + std::to_string(c) + " exam " + std::to_string(i);
        std::string body = exam.dump();
        ++submitted;
        auto r = client.Post("/api/v1/exams", Auth(clinician_), body, "application/json");
        if (!r || r->status != 201) {
          ++failed;  // killed mid-request: not acknowledged, so nothing is promised
          if (!r) return;
          continue;
        }
        json stored = json::parse(r->body);
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.push_back(
            {stored["client_exam_id"], stored["id"], stored["content_sha256"], body});
      }
    });
  }
  // Let the load run, then kill the server without warning.
  for (int waited = 0; waited < 100; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard<std::mutex> lock(mu);
    if (acknowledged.size() >= 300) break;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_.Kill();
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_GT(acknowledged.size(), 50u) << "the load never got going";

  ASSERT_TRUE(StartServer(DefaultArgs()));
  size_t found = 0, unchanged = 0;
  for (const auto& a : acknowledged) {
    auto r = Get("/api/v1/exams/" + std::to_string(a.id), auditor_);
    ASSERT_TRUE(r);
    if (r->status != 200) continue;
    ++found;
    json e = Body(r);
    if (e["client_exam_id"] == a.client_exam_id && e["content_sha256"] == a.content_sha256)
      ++unchanged;
  }
  // A client that retries an acknowledged exam gets the original back, not a duplicate.
  size_t replays = 0;
  for (size_t i = 0; i < acknowledged.size(); i += acknowledged.size() / 10 + 1) {
    auto r = Post("/api/v1/exams", clinician_, acknowledged[i].body);
    ASSERT_TRUE(r);
    json e = Body(r);
    if (r->status == 200 && e["replayed"] == true && e["id"] == acknowledged[i].id) ++replays;
  }
  json verify = Body(Get("/api/v1/audit/verify", auditor_));
  int64_t stored = 0;
  std::string cursor;
  do {
    json page = Body(
        Get("/api/v1/exams?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor), auditor_));
    stored += static_cast<int64_t>(page["exams"].size());
    cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
  } while (!cursor.empty());
  std::printf(
      "crash test (%s): submitted %d, acknowledged %zu, failed or cut off %d, stored after restart "
      "%lld, "
      "acknowledged found %zu, unchanged %zu, lost %zu, retried-as-replay %zu, chain ok %s (length "
      "%lld)\n",
      GetParam().c_str(), submitted.load(), acknowledged.size(), failed.load(),
      static_cast<long long>(stored), found, unchanged, acknowledged.size() - found, replays,
      verify["ok"].dump().c_str(), static_cast<long long>(verify["length"].get<int64_t>()));
  EXPECT_EQ(found, acknowledged.size()) << "acknowledged exams were lost";
  EXPECT_EQ(unchanged, acknowledged.size());
  EXPECT_GE(stored, static_cast<int64_t>(acknowledged.size()));
  EXPECT_LE(stored, submitted.load()) << "more rows than submissions: duplicates";
  EXPECT_EQ(replays,
            (acknowledged.size() + acknowledged.size() / 10) / (acknowledged.size() / 10 + 1));
  EXPECT_EQ(verify["ok"], true) << verify.dump();
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
