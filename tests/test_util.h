// Helpers shared by the cross-component tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sensordb/db.h"

namespace sensordb::testing {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sensordb-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline Options TestOptions() {
  Options o;
  o.maintenance_interval_ms = 0;  // tests drive sealing explicitly
  return o;
}

struct Pt {
  int64_t t;
  double v;
  bool operator==(const Pt& o) const {
    return t == o.t && (v == o.v || (v != v && o.v != o.v));
  }
};

// All points of one series, as (t, value as double).
inline std::vector<Pt> ReadSeries(DB& db, const std::string& project, const std::string& device,
                                  const std::string& channel, TimeRange range = {}) {
  std::vector<Pt> out;
  Status s = db.QueryRaw(project, {device, channel}, range,
                         [&](const SeriesRef&, const PointRun& run) {
                           for (size_t i = 0; i < run.size(); ++i) {
                             out.push_back({run.timestamps[i], run.value(i).AsDouble()});
                           }
                           return true;
                         });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

}  // namespace sensordb::testing
