// The registry's cache of the active model, on a real SQLite store: within its TTL it answers
// without the database, an invalidation makes the next call read the database, and a read that
// was under way when another version became active is not cached over the new one.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "fetal/sha256.h"
#include "model_registry.h"
#include "storage/sql_store.h"
#include "test_support.h"

namespace fetal {
namespace testing_support {
namespace {

using storage::ModelRecord;
using storage::StoreStatus;

// A SQLite store that counts its active-model reads and can hold the next one after it has read,
// the way a slow database would hold a request between its read and its use of the answer.
class HeldStore : public storage::SqlStore {
 public:
  using SqlStore::SqlStore;

  StoreStatus GetActiveModel(ModelRecord* out) override {
    StoreStatus s = SqlStore::GetActiveModel(out);
    ++reads;
    if (hold_next.exchange(false)) {
      has_read.set_value();
      release.get_future().wait();
    }
    return s;
  }

  std::atomic<int> reads{0};
  std::atomic<bool> hold_next{false};
  std::promise<void> has_read;  // set by the held read
  std::promise<void> release;   // lets the held read return
};

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("registry");
    storage::StoreOptions options;
    options.url = dir_ + "/fetal.db";
    storage::Database database;
    database.target = options.url;
    store_ = std::make_unique<HeldStore>(database, options);
    StoreStatus s = store_->Init();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int64_t version : {1, 2}) {
      const std::string bundle = BundleBytes(TinyModel(version, 0.1f * version));
      ModelRecord stored;
      s = store_->PutModel({version, bundle, "", Sha256Hex(bundle.data(), bundle.size()), "{}"},
                           admin_, &stored);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    s = store_->ActivateModel(1, admin_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void TearDown() override {
    store_.reset();
    RemoveTree(dir_);
  }

  // The active version as `registry` answers it (0 on an error, with the error reported).
  static int64_t ActiveVersion(server::ModelRegistry* registry) {
    std::shared_ptr<const ModelRecord> record;
    StoreStatus s = registry->Active(&record);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? record->version : 0;
  }

  std::string dir_;
  std::unique_ptr<HeldStore> store_;
  storage::Actor admin_{"root", "admin", "", 0};
};

// No public key: the registry checks the stored bytes against their SHA-256 only.
constexpr std::chrono::hours kLongTtl{1};

TEST_F(ModelRegistryTest, AnswersFromItsCacheWithinTheTtlAndRereadsAfterAnInvalidation) {
  server::ModelRegistry registry(store_.get(), "", kLongTtl);
  EXPECT_EQ(ActiveVersion(&registry), 1);
  EXPECT_EQ(ActiveVersion(&registry), 1);
  EXPECT_EQ(store_->reads.load(), 1) << "the second call within the TTL reads no database";

  // Activated by another instance: this one serves what it cached until its TTL runs out...
  ASSERT_TRUE(store_->ActivateModel(2, admin_).ok());
  EXPECT_EQ(ActiveVersion(&registry), 1);
  // ...or, on the instance that activated, at once.
  registry.InvalidateActive();
  EXPECT_EQ(ActiveVersion(&registry), 2);
  EXPECT_EQ(store_->reads.load(), 2);
}

TEST_F(ModelRegistryTest, AReadUnderWayDuringAnActivationDoesNotCacheTheOlderVersion) {
  server::ModelRegistry registry(store_.get(), "", kLongTtl);
  store_->hold_next = true;
  std::future<int64_t> slow =
      std::async(std::launch::async, [&] { return ActiveVersion(&registry); });
  // It has read version 1 and not yet cached it. (Every path below releases it: the future's
  // destructor would otherwise wait for it forever.)
  const bool held =
      store_->has_read.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  EXPECT_TRUE(held) << "the read was never held";

  // This instance activates version 2 meanwhile, as POST /models/2/activate does.
  EXPECT_TRUE(store_->ActivateModel(2, admin_).ok());
  registry.InvalidateActive();
  store_->release.set_value();
  if (!held) return;
  EXPECT_EQ(slow.get(), 1) << "the request that began before the activation sees what it read";

  EXPECT_EQ(ActiveVersion(&registry), 2)
      << "every request after the activation gets the new version, not the older read's cache";
  EXPECT_EQ(ActiveVersion(&registry), 2);
  EXPECT_EQ(store_->reads.load(), 2) << "the new version's read is cached";
}

}  // namespace
}  // namespace testing_support
}  // namespace fetal
