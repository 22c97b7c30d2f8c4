// Cutoffs::ShouldDrop on the three kinds of values retention meets: blocks and group references
// (keyed by block key) by the blocks' cutoffs, block groups by the groups' cutoffs, which
// EnforceRetention sets only after the references of the same cutoff are gone.
#include "retention/retention.h"

#include <gtest/gtest.h>

#include "block/block.h"
#include "block/group.h"
#include "crypto/cipher.h"
#include "store/keys.h"

namespace sensordb::retention {
namespace {

constexpr uint32_t kProject = 3;

std::string BlockValue(int64_t max_ts) {
  block::Summary s;
  s.count = 1;
  s.min_ts = s.max_ts = max_ts;
  const store::BlockKey key{kProject, 9, max_ts, 1};
  auto v = block::EncodeBlockValue(*crypto::NewPlainCipher(), key, store::EncodeBlockKey(key), s,
                                   "", {false, 0});
  return v ? *v : std::string();
}

std::string GroupValue(int64_t max_ts) {
  block::GroupMember m;
  m.key = {kProject, 9, max_ts, 1};
  m.summary.max_ts = max_ts;
  m.body = "x";
  auto v = block::EncodeGroupValue(*crypto::NewPlainCipher(), kProject,
                                   block::GroupKey(kProject, 1), {m}, {false, 0});
  return v ? *v : std::string();
}

TEST(Cutoffs, GroupsFollowTheirOwnCutoffsSetAfterTheReferences) {
  const std::string block_key = store::EncodeBlockKey({kProject, 9, 100, 1});
  const std::string group_key = block::GroupKey(kProject, 1);
  const std::string block = BlockValue(100), group = GroupValue(100);
  const std::string ref = block::EncodeGroupRef({100, 1, 0});
  ASSERT_FALSE(block.empty());
  ASSERT_FALSE(group.empty());
  Cutoffs c;
  EXPECT_FALSE(c.ShouldDrop(block_key, block));
  c.Set({{kProject, 101}});
  EXPECT_TRUE(c.ShouldDrop(block_key, block));
  EXPECT_TRUE(c.ShouldDrop(block_key, ref));
  EXPECT_FALSE(c.ShouldDrop(group_key, group)) << "a group outlived by its references";
  c.SetGroups({{kProject, 101}});
  EXPECT_TRUE(c.ShouldDrop(group_key, group));
  // Not past the cutoff, another project, or not a value retention knows: kept.
  c.Set({{kProject, 100}});
  c.SetGroups({{kProject, 100}, {kProject + 1, 1000}});
  EXPECT_FALSE(c.ShouldDrop(block_key, block));
  EXPECT_FALSE(c.ShouldDrop(block_key, ref));
  EXPECT_FALSE(c.ShouldDrop(group_key, group));
  EXPECT_FALSE(c.ShouldDrop(block_key, "garbage"));
  EXPECT_FALSE(c.ShouldDrop(group_key, "garbage"));
  EXPECT_FALSE(c.ShouldDrop("short", block));
}

}  // namespace
}  // namespace sensordb::retention
