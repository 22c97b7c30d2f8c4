// DB::System(): server-wide records sealed at rest, named (hashed keys) and numbered.
#include <fstream>
#include <iterator>
#include <map>

#include "test_util.h"

namespace sensordb {
namespace {

using testing::TempDir;
using testing::TestOptions;

std::unique_ptr<DB> OpenDb(const std::string& dir) {
  auto db = DB::Open(TestOptions(), dir);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  return db ? std::move(*db) : nullptr;
}

TEST(SystemStore, NamedRecordsRoundTripAcrossReopen) {
  TempDir dir;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->System().PutNamed(SystemSpace::kUsers, "alice", "record-a").ok());
    ASSERT_TRUE(db->System().PutNamed(SystemSpace::kUsers, "bob", "record-b").ok());
    ASSERT_TRUE(db->System().PutNamed(SystemSpace::kTokens, "alice", "other space").ok());
  }
  auto db = OpenDb(dir.path());
  auto a = db->System().GetNamed(SystemSpace::kUsers, "alice");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(**a, "record-a");
  EXPECT_FALSE(*db->System().GetNamed(SystemSpace::kUsers, "carol"));
  std::map<std::string, std::string> all;
  ASSERT_TRUE(db->System()
                  .ScanNamed(SystemSpace::kUsers,
                             [&](std::string_view n, std::string_view v) {
                               all.emplace(n, v);
                               return true;
                             })
                  .ok());
  EXPECT_EQ(all, (std::map<std::string, std::string>{{"alice", "record-a"}, {"bob", "record-b"}}));
}

TEST(SystemStore, NumberedRecordsScanInOrderFromAnId) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  std::vector<SystemStore::Op> ops;
  for (uint64_t id : {5, 1, 300, 2}) {
    ops.push_back({SystemStore::Op::Kind::kPutNumbered, SystemSpace::kAudit, "", id,
                   "entry " + std::to_string(id)});
  }
  ASSERT_TRUE(db->System().Apply(ops).ok());
  EXPECT_EQ(*db->System().LastNumbered(SystemSpace::kAudit), 300u);
  EXPECT_EQ(*db->System().LastNumbered(SystemSpace::kUsers), 0u);
  std::vector<uint64_t> ids;
  ASSERT_TRUE(db->System()
                  .ScanNumbered(SystemSpace::kAudit, 2,
                                [&](uint64_t id, std::string_view v) {
                                  EXPECT_EQ(v, "entry " + std::to_string(id));
                                  ids.push_back(id);
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(ids, (std::vector<uint64_t>{2, 5, 300}));
  SystemStore::Op del{SystemStore::Op::Kind::kDeleteNumbered, SystemSpace::kAudit, "", 300, ""};
  ASSERT_TRUE(db->System().Apply({&del, 1}).ok());
  EXPECT_EQ(*db->System().LastNumbered(SystemSpace::kAudit), 5u);
}

TEST(SystemStore, NoNameOrValueReachesTheDiskInClear) {
  TempDir dir;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->System().PutNamed(SystemSpace::kUsers, "canary-user-7f3a", "canary-hash-91c2").ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(bytes.find("canary-user-7f3a"), std::string::npos) << e.path();
    EXPECT_EQ(bytes.find("canary-hash-91c2"), std::string::npos) << e.path();
  }
}

TEST(SystemStore, SystemKeySurvivesProjectDropsAndReopen) {
  TempDir dir;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->CreateProject("p"));
    ASSERT_TRUE(db->System().PutNamed(SystemSpace::kServer, "k", "v").ok());
    ASSERT_TRUE(db->DropProject("p").ok());
  }
  auto db = OpenDb(dir.path());
  auto v = db->System().GetNamed(SystemSpace::kServer, "k");
  ASSERT_TRUE(v && *v) << (v ? "missing" : v.error().ToString());
  EXPECT_EQ(**v, "v");
}

}  // namespace
}  // namespace sensordb
