// The Prometheus exposition: what a metrics account may learn from it.
#include "net/metrics.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sensordb::server
