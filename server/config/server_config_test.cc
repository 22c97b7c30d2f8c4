// The config file: what RenderConfig writes, LoadConfig reads back whole; what `init --set`
// takes and refuses.
#include "config/server_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_util.h"

namespace sensordb::server {
namespace {

// Every setting away from its default, so that a field RenderConfig forgets is seen.
ServerConfig Unusual(const std::string& dir) {
  ServerConfig c;
  c.data_dir = dir + "/d";
  c.passphrase_file = dir + "/phrase";
  c.log_level = "debug";
  c.durability = "async";
  c.io_threads = 3;
  c.worker_threads = 5;
  c.client = {"127.0.0.2", 7001};
  c.tls = {dir + "/c.crt", dir + "/c.key", dir + "/ca.crt"};
  c.limits.max_connections = 111;
  c.limits.max_connections_per_address = 11;
  c.limits.max_preauth_connections = 12;
  c.limits.max_preauth_per_address = 3;
  c.limits.max_frame_bytes = 70'000;
  c.limits.max_write_points = 13;
  c.limits.handshake_timeout_ms = 1'001;
  c.limits.idle_timeout_ms = 1'002;
  c.limits.send_timeout_ms = 1'003;
  c.limits.requests_per_second = 14;
  c.limits.request_burst = 15;
  c.limits.max_series_per_project = 16;
  c.limits.max_series_per_device = 17;
  c.limits.max_new_series_per_device_per_minute = 18;
  c.limits.max_concurrent_password_checks = 4;
  c.limits.max_aggregate_buckets = 19;
  c.limits.max_label_keys_per_project = 23;
  c.limits.max_label_values_per_key = 24;
  c.limits.max_label_keys_per_device = 25;
  c.limits.max_label_changes_per_device = 26;
  c.metrics = {false, "127.0.0.3", 9001, {"a", "b"}};
  c.devices.enabled = false;
  c.devices.address = "127.0.0.4";
  c.devices.port = 7002;
  c.devices.mqtt = false;
  c.devices.mqtt_port = 7003;
  c.devices.max_sessions_per_device = 6;
  c.devices.points_per_second = 20;
  c.devices.points_burst = 21;
  c.devices.cert_days = 22;
  c.rest = {false, "127.0.0.5", 7004, 2048, 4096, 1'004};
  c.backup.dir = dir + "/b";
  c.backup.time_of_day_s = 3 * 3600 + 4 * 60;
  c.backup.keep_days = 0;
  c.backup.keep_daily = 7;
  c.backup.keep_weekly = 4;
  c.backup.keep_monthly = 2;
  c.backup.verify = false;
  return c;
}

TEST(ServerConfig, RenderedConfigReadsBackWhole) {
  testing::TempDir dir;
  const ServerConfig c = Unusual(dir.path());
  const std::string text = RenderConfig(c);
  const std::string file = dir.path() + "/sensordbd.toml";
  std::ofstream(file) << text;
  auto back = LoadConfig(file);
  ASSERT_TRUE(back.has_value()) << back.error().ToString() << "\n" << text;
  EXPECT_EQ(RenderConfig(*back), text);
  EXPECT_EQ(back->passphrase_file, c.passphrase_file);
  EXPECT_EQ(back->backup.keep_weekly, 4u);
}

TEST(ServerConfig, SettingsAreTypedCheckedAndAllOrNothing) {
  ServerConfig c;  // as init makes it: the checks of a whole file apply
  c.data_dir = "data";
  c.key_file = "master.key";
  c.tls = {"tls/server.crt", "tls/server.key", "tls/ca.crt"};
  ASSERT_TRUE(ApplySettings(c, {"durability=async", "backup.dir=", "limits.max_connections=2048",
                                "log_level=\"warn\"", "metrics.enabled=false"})
                  .ok());
  EXPECT_EQ(c.durability, "async");
  EXPECT_EQ(c.backup.dir, "");
  EXPECT_EQ(c.limits.max_connections, 2048u);
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_FALSE(c.metrics.enabled);
  const ServerConfig before = c;
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"limits.max_connections=0"},
                                             {"limits.nope=1"},
                                             {"durability=maybe"},
                                             {"client.port=x"},
                                             {"noequals"},
                                             {"=1"},
                                             {"data_dir = x"},
                                             {"durability=\"sync\"\nkey_file=\"k\""},
                                             {"rest.port=1", "rest.port=2"}}) {
    const Status s = ApplySettings(c, bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad[0];
    EXPECT_EQ(RenderConfig(c), RenderConfig(before)) << bad[0];
  }
}

TEST(ServerConfig, StorageSettingsReachTheEngineOptionsRange) {
  ServerConfig c;
  c.data_dir = "data";
  c.key_file = "master.key";
  c.tls = {"tls/server.crt", "tls/server.key", "tls/ca.crt"};
  EXPECT_EQ(c.storage.head_zstd_level, 1u);
  EXPECT_EQ(c.storage.head_checkpoint_mib, 256u);
  EXPECT_EQ(c.storage.head_idle_checkpoint_s, 10u);
  EXPECT_EQ(c.storage.head_memory_mib, 256u);
  EXPECT_EQ(c.storage.short_block_interval_s, 3600u);
  ASSERT_TRUE(ApplySettings(c, {"storage.head_zstd_level=0", "storage.head_checkpoint_mib=64",
                                "storage.head_idle_checkpoint_s=0", "storage.head_memory_mib=32",
                                "storage.short_block_interval_s=0"})
                  .ok());
  EXPECT_EQ(c.storage.short_block_interval_s, 0u);
  EXPECT_NE(RenderConfig(c).find("short_block_interval_s = 0"), std::string::npos);
  EXPECT_EQ(c.storage.head_memory_mib, 32u);
  EXPECT_NE(RenderConfig(c).find("head_memory_mib = 32"), std::string::npos);
  EXPECT_EQ(c.storage.head_zstd_level, 0u);
  EXPECT_EQ(c.storage.head_checkpoint_mib, 64u);
  EXPECT_EQ(c.storage.head_idle_checkpoint_s, 0u);
  EXPECT_NE(RenderConfig(c).find("head_checkpoint_mib = 64"), std::string::npos);
  for (const char* bad : {"storage.head_zstd_level=20", "storage.head_checkpoint_mib=-1",
                          "storage.head_idle_checkpoint_s=86401",
                          "storage.short_block_interval_s=604801", "storage.level=1"}) {
    EXPECT_EQ(ApplySettings(c, {bad}).code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace sensordb::server
