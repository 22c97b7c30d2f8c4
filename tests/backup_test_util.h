// Helpers of the backup tests: small databases, file scans.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sensordb/backup.h"
#include "test_util.h"

namespace sensordb::testing {

inline constexpr int64_t kDayNs = 86'400 * kNanosPerSecond;
inline constexpr int64_t kBackupT0 = 1'767'225'600 * kNanosPerSecond;  // 2026-01-01T00:00:00Z

inline KeySource TestKey() { return TestOptions().key; }

inline std::unique_ptr<DB> OpenTestDb(const std::string& dir, Options o = TestOptions()) {
  auto db = DB::Open(o, dir);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  return db ? std::move(*db) : nullptr;
}

// `n` points of (device, channel) from `first`, one a second, value = index.
inline Status WritePoints(DB& db, const std::string& project, const std::string& device,
                          const std::string& channel, int64_t first, int n) {
  std::vector<int64_t> ts(static_cast<size_t>(n));
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ts[size_t(i)] = kBackupT0 + (first + i) * kNanosPerSecond;
    v[size_t(i)] = double(first + i) * 0.5;
  }
  WriteBatch b;
  b.AddFloat64(device, channel, ts, v);
  return db.Write(project, b);
}

// Points of a whole project by a count aggregate.
inline uint64_t CountPoints(DB& db, const std::string& project) {
  uint64_t n = 0;
  Status s = db.Aggregate(project, {}, [&](const AggregateRow& r) {
    n += r.count;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return n;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Regular files under `dir` whose name ends with `suffix`.
inline std::vector<std::string> FilesUnder(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (e.is_regular_file() && p.ends_with(suffix)) out.push_back(p);
  }
  return out;
}

inline BackupOptions Labelled(std::string label, int64_t created_unix_ns = 0) {
  BackupOptions o;
  o.label = std::move(label);
  o.created_unix_ns = created_unix_ns;
  return o;
}

inline BackupInfo MustBackup(DB& db, const std::string& dir, BackupOptions o = {}) {
  auto info = db.CreateBackup(dir, o);
  EXPECT_TRUE(info.has_value()) << info.error().ToString();
  return info ? *info : BackupInfo{};
}

}  // namespace sensordb::testing
