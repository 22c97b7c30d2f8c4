// Status, Result and the error macros: one family that works in functions returning Status and
// in functions returning any Result<T>.
#include "sensordb/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sensordb {
namespace {

Status Fails() { return Status::NotFound("no such thing"); }
Status Succeeds() { return Status::Ok(); }
Result<int> Seven() { return 7; }
Result<int> Missing() { return Err(Status::NotFound("no seven")); }
Result<std::unique_ptr<int>> MoveOnly() { return std::make_unique<int>(3); }

// The same macros in a function returning Status ...
Status AddToStatus(bool fail_first, Result<int> (*get)(), int* out) {
  if (fail_first) SENSORDB_RETURN_IF_ERROR(Fails());
  SENSORDB_RETURN_IF_ERROR(Succeeds());
  SENSORDB_ASSIGN_OR_RETURN(const int v, get());
  *out += v;
  return Status::Ok();
}

// ... and in one returning Result<T>.
Result<std::string> AddToResult(bool fail_first, Result<int> (*get)()) {
  if (fail_first) SENSORDB_RETURN_IF_ERROR(Fails());
  SENSORDB_RETURN_IF_ERROR(get());  // a Result whose value is not wanted here
  SENSORDB_ASSIGN_OR_RETURN(const int v, get());
  SENSORDB_ASSIGN_OR_RETURN(auto p, MoveOnly());
  return std::to_string(v + *p);
}

TEST(StatusMacros, InAFunctionReturningStatus) {
  int out = 0;
  EXPECT_TRUE(AddToStatus(false, Seven, &out).ok());
  EXPECT_EQ(out, 7);
  const Status a = AddToStatus(true, Seven, &out);
  EXPECT_EQ(a.code(), StatusCode::kNotFound);
  EXPECT_EQ(a.message(), "no such thing");
  const Status b = AddToStatus(false, Missing, &out);
  EXPECT_EQ(b.code(), StatusCode::kNotFound);
  EXPECT_EQ(b.message(), "no seven");
  EXPECT_EQ(out, 7);
}

TEST(StatusMacros, InAFunctionReturningResult) {
  auto ok = AddToResult(false, Seven);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "10");
  auto a = AddToResult(true, Seven);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().message(), "no such thing");
  auto b = AddToResult(false, Missing);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().message(), "no seven");
}

TEST(StatusMacros, ErrReturnsFromBothKinds) {
  auto status_fn = []() -> Status { return Err(Status::Corruption("bad block")); };
  EXPECT_EQ(status_fn().code(), StatusCode::kCorruption);
  auto result_fn = []() -> Result<int> { return Err(Status::Corruption("bad block")); };
  EXPECT_EQ(result_fn().error().code(), StatusCode::kCorruption);
}

TEST(Result, IsAStdExpected) {
  Result<int> r = Seven();
  const std::expected<int, Status>& e = r;  // usable wherever a std::expected is
  EXPECT_EQ(*e, 7);
  Result<int> from_expected = std::expected<int, Status>(5);
  EXPECT_EQ(*from_expected, 5);
  Missing().IgnoreError();  // dropping one must be said out loud
}

}  // namespace
}  // namespace sensordb
