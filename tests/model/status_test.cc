#include "fetal/status.h"

#include <gtest/gtest.h>

namespace fetal {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, ToStringNamesCodeFieldAndMessage) {
  const Status s = Status::InvalidArgument("expected 50 to 250 bpm", "baseline_value");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.field(), "baseline_value");
  EXPECT_EQ(s.message(), "expected 50 to 250 bpm");
  EXPECT_EQ(s.ToString(), "invalid argument: baseline_value: expected 50 to 250 bpm");
}

TEST(StatusTest, ToStringWithoutField) {
  EXPECT_EQ(Status::Corruption("bundle is truncated").ToString(),
            "corruption: bundle is truncated");
  EXPECT_EQ(Status::Unsupported("format version 9").ToString(), "unsupported: format version 9");
  EXPECT_EQ(Status::NotFound("model 3").ToString(), "not found: model 3");
  EXPECT_EQ(Status::IoError("disk full").ToString(), "io error: disk full");
}

TEST(StatusTest, EveryFailureCodeIsNotOk) {
  for (const Status& s : {Status::InvalidArgument("x"), Status::Corruption("x"),
                          Status::Unsupported("x"), Status::NotFound("x"), Status::IoError("x")}) {
    EXPECT_FALSE(s.ok()) << s.ToString();
    EXPECT_TRUE(s.field().empty());
  }
}

}  // namespace
}  // namespace fetal
