// The Prometheus exposition: what a metrics account may learn from it.
#include "net/metrics.h"

#include <gtest/gtest.h>

#include "devices/device_registry.h"

namespace sensordb::server {
namespace {

// A metrics account monitors the server; it holds no role in any project, so the exposition
// names projects by id (sensordb project list maps ids to names for those who may see them).
TEST(MetricsExposition, NamesNoProject) {
  KeyStatusReport keys;
  keys.master_key_fingerprint = "ab12";
  keys.kdf = "key-file";
  ProjectKeyStatus p;
  p.project = "acme-secret-plant";
  p.project_id = 7;
  p.versions.push_back({.version = 2, .active = true, .blocks = 3});
  keys.projects.push_back(p);
  ServerMetrics metrics;
  ServerMetrics::Sources sources;
  sources.keys = &keys;
  const std::string text = metrics.Render(sources);
  EXPECT_EQ(text.find("acme-secret-plant"), std::string::npos) << text;
  EXPECT_NE(text.find("sensordb_project_key_version{project_id=\"7\"} 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sensordb_project_key_versions_in_use{project_id=\"7\"} 1"),
            std::string::npos)
      << text;
}

// The engine's figures reach the exposition under their documented names (docs/SERVER.md).
TEST(MetricsExposition, ShowsTheHeadsCheckpointsAndMemory) {
  DBStats db;
  db.head_points = 11;
  db.head_checkpoints = 2;
  db.head_chunk_bytes = 4096;
  db.head_memory_seals = 3;
  db.blocks_merged = 5;
  ServerMetrics metrics;
  ServerMetrics::Sources sources;
  sources.db = &db;
  const std::string text = metrics.Render(sources);
  for (const char* line :
       {"sensordb_head_points 11", "sensordb_head_checkpoints_total 2",
        "sensordb_head_chunk_bytes 4096", "sensordb_head_memory_seals_total 3",
        "sensordb_blocks_merged_total 5", "# TYPE sensordb_head_chunk_bytes gauge",
        "# TYPE sensordb_head_memory_seals_total counter"}) {
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << text;
  }
}

// Rollouts appear by project id and rollout number, with their state, open wave and devices by
// the step they last reported (docs/SERVER.md "Metrics").
TEST(MetricsExposition, ShowsRolloutsByIdWithTheirDevicesPerStep) {
  RolloutStatus r;
  r.project_id = 7;
  r.rollout = 3;
  r.state = firmware::RolloutState::kHalted;
  r.open_wave = 1;
  r.waves = 4;
  r.steps = {10, 0, 1, 0, 0, 5, 1, 2};
  const std::vector<RolloutStatus> rollouts{r};
  ServerMetrics metrics;
  RequestOutcome read;
  read.firmware_bytes = 65536;
  metrics.RecordRequest(uint8_t(wire::Message::ReadFirmware), read, 100, 0.001);
  RequestOutcome report;
  report.firmware_step = 7;
  metrics.RecordRequest(uint8_t(wire::Message::ReportFirmware), report, 100, 0.001);
  ServerMetrics::Sources sources;
  sources.rollouts = &rollouts;
  const std::string text = metrics.Render(sources);
  const std::string id = "project_id=\"7\",rollout=\"3\"";
  for (const std::string& line :
       {"sensordb_firmware_rollout_state{" + id + ",state=\"halted\"} 1",
        "sensordb_firmware_rollout_open_wave{" + id + "} 2",
        "sensordb_firmware_rollout_waves{" + id + "} 4",
        "sensordb_firmware_rollout_devices{" + id + ",step=\"none\"} 10",
        "sensordb_firmware_rollout_devices{" + id + ",step=\"confirmed\"} 5",
        "sensordb_firmware_rollout_devices{" + id + ",step=\"failed\"} 2",
        std::string("sensordb_firmware_bytes_served_total 65536"),
        std::string("sensordb_firmware_reports_total{step=\"failed\"} 1"),
        std::string("sensordb_requests_total{type=\"ReportFirmware\"} 1")}) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace sensordb::server
