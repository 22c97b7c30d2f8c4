// Every catalog record decodes what its encoder wrote, and anything else (a cut, a byte too
// many, an unknown version or tag) is Corruption: the catalog never guesses at a record.
#include "catalog/catalog_records.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace sensordb::catalog {
namespace {

using store::MetaTag;

using sensordb::testing::ExpectOnlyWholeDecodes;

TEST(CatalogRecords, ProjectRoundTrips) {
  const std::string enc = EncodeProject({"alpha", 30, int64_t(1) << 40});
  ProjectRecord r;
  ASSERT_TRUE(DecodeProject(enc, &r).ok());
  EXPECT_EQ(r.name, "alpha");
  EXPECT_EQ(r.retention_days, 30u);
  EXPECT_EQ(r.max_span_ns, int64_t(1) << 40);
  ExpectOnlyWholeDecodes(enc, [&](std::string_view in) { return DecodeProject(in, &r); });
  std::string other = enc;
  other[0] = char(kRecordVersion + 1);
  EXPECT_NE(DecodeProject(other, &r).message().find("unknown version"), std::string::npos);
}

TEST(CatalogRecords, DeviceRoundTrips) {
  const std::string enc = EncodeDevice({"logger-7", "CR1000X", "3.1.4"});
  DeviceRecord r;
  ASSERT_TRUE(DecodeDevice(enc, &r).ok());
  EXPECT_EQ(r.name, "logger-7");
  EXPECT_EQ(r.model, "CR1000X");
  EXPECT_EQ(r.firmware_version, "3.1.4");
  ExpectOnlyWholeDecodes(enc, [&](std::string_view in) { return DecodeDevice(in, &r); });
}

TEST(CatalogRecords, ChannelsRoundTrip) {
  const ChannelEntry channels[] = {{17, ValueType::kFloat64, "temp", "degC"},
                             {18, ValueType::kInt64, "count", ""},
                             {uint64_t(1) << 50, ValueType::kBool, "door", ""}};
  const std::string enc = EncodeChannels(channels);
  std::vector<ChannelEntry> out;
  ASSERT_TRUE(DecodeChannels(enc, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].series, channels[i].series);
    EXPECT_EQ(out[i].type, channels[i].type);
    EXPECT_EQ(out[i].channel, channels[i].channel);
    EXPECT_EQ(out[i].unit, channels[i].unit);
  }
  ExpectOnlyWholeDecodes(enc, [&](std::string_view in) { return DecodeChannels(in, &out); });
  std::string bad_type = enc;
  bad_type[3] = 9;  // version, count, series 17, then the type byte
  EXPECT_EQ(DecodeChannels(bad_type, &out).code(), StatusCode::kCorruption);
}

TEST(CatalogRecords, CountersRoundTrip) {
  const std::string enc = EncodeCounters({5, 1234567});
  CountersRecord r;
  ASSERT_TRUE(DecodeCounters(enc, &r).ok());
  EXPECT_EQ(r.next_project, 5u);
  EXPECT_EQ(r.next_object, 1234567u);
  ExpectOnlyWholeDecodes(enc, [&](std::string_view in) { return DecodeCounters(in, &r); });
}

TEST(CatalogRecords, KeysHaveTheShapeTheirTagRequires) {
  for (const RecordKey& k :
       {RecordKey{MetaTag::kCounters, 0, 0, 0}, RecordKey{MetaTag::kProject, 3, 0, 0},
        RecordKey{MetaTag::kDevice, 3, 17, 0}, RecordKey{MetaTag::kSeries, 3, 17, 40},
        RecordKey{MetaTag::kLabels, 3, 17, 41}}) {
    const std::string enc = EncodeRecordKey(k);
    // The same bytes as the key helpers the other parts use (store/keys.h).
    const std::string helper = k.tag == MetaTag::kCounters  ? store::MetaKey(k.tag)
                               : k.tag == MetaTag::kProject ? store::MetaKey(k.tag, k.project)
                                                            : store::MetaKey(k.tag, k.project, k.id);
    EXPECT_EQ(enc.substr(0, helper.size()), helper);
    const bool record = k.tag == MetaTag::kSeries || k.tag == MetaTag::kLabels;
    EXPECT_EQ(enc.size(), helper.size() + (record ? 8 : 0));
    RecordKey out;
    ExpectOnlyWholeDecodes(enc, [&](std::string_view in) { return DecodeRecordKey(in, &out); });
    ASSERT_TRUE(DecodeRecordKey(enc, &out).ok());
    EXPECT_EQ(out.tag, k.tag);
    EXPECT_EQ(out.project, k.project);
    EXPECT_EQ(out.id, k.id);
    EXPECT_EQ(out.record, k.record);
  }
  RecordKey out;
  EXPECT_NE(DecodeRecordKey("Z", &out).message().find("unknown tag"), std::string::npos);
  EXPECT_EQ(DescribeKey(EncodeRecordKey({MetaTag::kSeries, 3, 17, 40})),
            "tag S project 3 id 17 record 40");
}

TEST(CatalogRecords, LabelChangesRoundTrip) {
  const std::vector<LabelChangeEntry> in = {
      {"site", -5, "north"}, {"room", 1700000000000000000, "3"}, {"site", 7, ""}};
  const std::string enc = EncodeLabelChanges(in);
  std::vector<LabelChangeEntry> out;
  ASSERT_TRUE(DecodeLabelChanges(enc, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].key, in[i].key);
    EXPECT_EQ(out[i].from_ns, in[i].from_ns);
    EXPECT_EQ(out[i].value, in[i].value);
  }
  ExpectOnlyWholeDecodes(enc, [&](std::string_view b) { return DecodeLabelChanges(b, &out); });
  EXPECT_FALSE(
      DecodeLabelChanges(EncodeLabelChanges({}), &out).ok());  // a record changes something
}

}  // namespace
}  // namespace sensordb::catalog
