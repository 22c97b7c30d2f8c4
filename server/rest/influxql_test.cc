#include "rest/influxql.h"

#include <gtest/gtest.h>

namespace sensordb::server::rest::influxql {
namespace {

using Kind = ShowStatement::Kind;

ShowStatement One(std::string_view q) {
  auto all = Parse(q);
  EXPECT_TRUE(all.has_value()) << q << ": " << all.error().message();
  if (!all || all->size() != 1) return {};
  return all->front();
}

Status ErrorOf(std::string_view q) {
  auto all = Parse(q);
  EXPECT_FALSE(all.has_value()) << q;
  return all ? Status::Ok() : all.error();
}

TEST(InfluxQl, ParsesTheShowStatementsOfClientsAndDashboards) {
  EXPECT_EQ(One("SHOW DATABASES").kind, Kind::kDatabases);
  EXPECT_EQ(One("show databases").kind, Kind::kDatabases);  // keywords in any case
  EXPECT_EQ(One("SHOW MEASUREMENTS LIMIT 100").limit, 100u);
  const ShowStatement m = One("SHOW MEASUREMENTS ON \"plant\" WITH MEASUREMENT = env OFFSET 2");
  EXPECT_EQ(m.on, "plant");
  EXPECT_EQ(m.measurement, "env");
  EXPECT_EQ(m.offset, 2u);
  const ShowStatement f = One("SHOW FIELD KEYS FROM \"plant\".\"autogen\".\"env\"");
  EXPECT_EQ(f.kind, Kind::kFieldKeys);
  EXPECT_EQ(f.from, "env");
  EXPECT_EQ(One("SHOW TAG KEYS FROM env").kind, Kind::kTagKeys);
  const ShowStatement v = One("SHOW TAG VALUES FROM \"env\" WITH KEY = \"device\"");
  EXPECT_EQ(v.kind, Kind::kTagValues);
  EXPECT_EQ(v.tag_keys, std::vector<std::string>{"device"});
  EXPECT_EQ(One("SHOW TAG VALUES WITH KEY IN (device, 'site')").tag_keys,
            (std::vector<std::string>{"device", "site"}));
  EXPECT_EQ(One("SHOW SERIES FROM env LIMIT 5 OFFSET 1").offset, 1u);
  EXPECT_EQ(One("SHOW RETENTION POLICIES ON plant").kind, Kind::kRetentionPolicies);
}

TEST(InfluxQl, SplitsStatementsAndSkipsComments) {
  auto all = Parse("SHOW DATABASES; -- a comment\n;/* block; */ SHOW MEASUREMENTS ON \"a;b\";");
  ASSERT_TRUE(all.has_value()) << all.error().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].on, "a;b");
  auto quoted = Parse(R"(SHOW FIELD KEYS FROM "a \"quoted\" name")");
  ASSERT_TRUE(quoted.has_value()) << quoted.error().message();
  EXPECT_EQ(quoted->front().from, "a \"quoted\" name");
}

TEST(InfluxQl, ErrorsSayWhatWasFoundAndWhere) {
  Status s = ErrorOf("SHOW DATABASE");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("found DATABASE, expected DATABASES"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("line 1, char 6"), std::string::npos) << s.message();
  s = ErrorOf("SHOW MEASUREMENTS\nLIMIT x");
  EXPECT_NE(s.message().find("found x, expected integer at line 2, char 7"), std::string::npos)
      << s.message();
  EXPECT_NE(ErrorOf("SHOW TAG VALUES FROM env").message().find("expected WITH"), std::string::npos);
  EXPECT_NE(ErrorOf("SHOW DATABASES SHOW DATABASES").message().find("expected ;"),
            std::string::npos);
  EXPECT_NE(ErrorOf("").message().find("empty query"), std::string::npos);
  EXPECT_NE(ErrorOf("SHOW FIELD KEYS FROM \"open").message().find("unterminated"),
            std::string::npos);
  EXPECT_NE(ErrorOf("bogus").message().find("found bogus, expected SELECT"), std::string::npos);
}

TEST(InfluxQl, NamesWhatItDoesNotAnswer) {
  for (const char* q : {"SELECT * FROM env", "DROP DATABASE plant", "CREATE DATABASE x",
                        "SHOW USERS", "SHOW SERIES CARDINALITY", "SHOW TAG KEYS WHERE a = 'b'",
                        "SHOW MEASUREMENTS WITH MEASUREMENT =~ /en/", "SHOW SERIES FROM /e/",
                        "SHOW TAG VALUES WITH KEY =~ /d/"}) {
    const Status s = ErrorOf(q);
    EXPECT_EQ(s.code(), StatusCode::kNotSupported) << q << ": " << s.message();
    EXPECT_NE(s.message().find("not supported"), std::string::npos) << q << ": " << s.message();
  }
}

TEST(InfluxQl, BoundsTheQuery) {
  EXPECT_NE(ErrorOf(std::string(kMaxQueryBytes + 1, ' ')).message().find("exceeds"),
            std::string::npos);
  std::string many;
  for (size_t i = 0; i <= kMaxStatements; ++i) many += "SHOW DATABASES;";
  EXPECT_NE(ErrorOf(many).message().find("at most"), std::string::npos);
}

}  // namespace
}  // namespace sensordb::server::rest::influxql
