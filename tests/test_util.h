// Helpers shared by the cross-component tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "sensordb/clock.h"
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

// A master key file for this test process, created once (0600) and removed at exit.
inline const std::string& TestKeyFile() {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("sensordb-testkey-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "master.key").string();
    Status s = CreateKeyFile(file);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) ADD_FAILURE() << s.ToString();
    static const std::string to_remove = dir.string();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
    return file;
  }();
  return path;
}

// Made at program start, so a forked child (crash tests) uses the parent's key, not its own.
inline const bool kTestKeyFileReady = !TestKeyFile().empty();

// A simulated clock (Options::clock, BackupScheduler): time moves only when the test sets it.
// Its monotonic reading is its wall reading.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowUnixNs() const override { return now_.load(); }
  void Set(int64_t t) { now_ = t; }

 private:
  std::atomic<int64_t> now_;
};

inline Options TestOptions() {
  Options o;
  o.key.key_file = TestKeyFile();
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

// A decoder accepts exactly what its encoder wrote: `enc` decodes, and every strict prefix and
// `enc` with one byte more are Corruption. `decode(std::string_view)` returns a Status.
template <typename Decode>
void ExpectOnlyWholeDecodes(const std::string& enc, Decode decode) {
  ASSERT_TRUE(decode(std::string_view(enc)).ok());
  for (size_t n = 0; n < enc.size(); ++n) {
    const std::string prefix = enc.substr(0, n);  // own allocation: ASan catches over-reads
    EXPECT_EQ(decode(std::string_view(prefix)).code(), StatusCode::kCorruption) << "prefix " << n;
  }
  const std::string longer = enc + "x";
  EXPECT_EQ(decode(std::string_view(longer)).code(), StatusCode::kCorruption) << "a byte more";
}

}  // namespace sensordb::testing
