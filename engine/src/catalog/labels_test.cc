#include "catalog/labels.h"

#include <gtest/gtest.h>

namespace sensordb::catalog {
namespace {

std::vector<LabelEntry> H(std::initializer_list<LabelEntry> e) { return e; }

bool Same(const std::vector<LabelEntry>& a, const std::vector<LabelEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].from_ns != b[i].from_ns || a[i].value != b[i].value) return false;
  }
  return true;
}

TEST(Labels, ValueAtATimeIsTheLastEntryAtOrBeforeIt) {
  const auto h = H({{10, "north"}, {20, "south"}, {30, ""}});
  EXPECT_EQ(LabelAt(h, 9), "");
  EXPECT_EQ(LabelAt(h, 10), "north");
  EXPECT_EQ(LabelAt(h, 19), "north");
  EXPECT_EQ(LabelAt(h, 20), "south");
  EXPECT_EQ(LabelAt(h, 30), "");
  EXPECT_EQ(LabelAt({}, 0), "");
}

TEST(Labels, ApplyKeepsTheHistoryCanonical) {
  std::vector<LabelEntry> h;
  EXPECT_TRUE(ApplyLabel(&h, 100, "north"));
  EXPECT_FALSE(ApplyLabel(&h, 150, "north"));  // already so: nothing to record
  EXPECT_FALSE(ApplyLabel(&h, 50, ""));        // absent before 100 already
  // Back-filled data with the same value moves the start back; the later entry merges away.
  EXPECT_TRUE(ApplyLabel(&h, 50, "north"));
  EXPECT_TRUE(Same(h, H({{50, "north"}})));
  EXPECT_TRUE(ApplyLabel(&h, 200, "south"));
  EXPECT_TRUE(ApplyLabel(&h, 120, "east"));  // between: holds until the next change
  EXPECT_TRUE(Same(h, H({{50, "north"}, {120, "east"}, {200, "south"}})));
  // A change in place to the predecessor's value removes the entry.
  EXPECT_TRUE(ApplyLabel(&h, 120, "north"));
  EXPECT_TRUE(Same(h, H({{50, "north"}, {200, "south"}})));
  // A removal at the first entry leaves nothing before the next one.
  EXPECT_TRUE(ApplyLabel(&h, 50, ""));
  EXPECT_TRUE(Same(h, H({{200, "south"}})));
  EXPECT_TRUE(ApplyLabel(&h, 300, ""));
  EXPECT_TRUE(Same(h, H({{200, "south"}, {300, ""}})));
}

TEST(Labels, SlotsStayInKeyOrder) {
  std::vector<LabelHistory> labels;
  LabelSlot(&labels, "site").entries.push_back({1, "a"});
  LabelSlot(&labels, "room").entries.push_back({1, "3"});
  LabelSlot(&labels, "site").entries.push_back({2, "b"});
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].key, "room");
  EXPECT_EQ(FindLabel(labels, "site")->entries.size(), 2u);
  EXPECT_EQ(FindLabel(labels, "line"), nullptr);
  EXPECT_EQ(LabelEntries(labels), 3u);
}

}  // namespace
}  // namespace sensordb::catalog
