// Crash safety: a child process writes with sync durability and reports each acknowledged
// batch over a pipe; the parent kills it with SIGKILL at a random moment, reopens the database
// and checks that every acknowledged batch is there, whole, and nothing is corrupt. Repeated
// on one directory so later rounds recover on top of earlier recoveries.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "test_util.h"

namespace sensordb {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int kPointsPerColumn = 20;

// Batch k writes two series (atomicity is visible as "both or neither").
void FillBatch(uint64_t k, WriteBatch* b) {
  std::vector<int64_t> ts;
  std::vector<double> a, c;
  for (int i = 0; i < kPointsPerColumn; ++i) {
    ts.push_back(kT0 + int64_t(k) * 1000 + i);
    a.push_back(double(k) + i / 100.0);
    c.push_back(-double(k));
  }
  b->Clear();
  b->AddFloat64("dev-" + std::to_string(k % 7), "a", ts, a);
  b->AddFloat64("dev-" + std::to_string(k % 7), "b", ts, c);
}

Options CrashOptions() {
  Options o;
  o.key.key_file = testing::TestKeyFile();
  o.durability = Durability::kSync;
  o.chunk_max_points = 64;          // seal often
  o.maintenance_interval_ms = 2;    // truncate the head often
  o.chunk_max_age_s = 0;
  return o;
}

[[noreturn]] void RunChild(const std::string& dir, uint64_t first, int fd) {
  auto db = DB::Open(CrashOptions(), dir);
  if (!db) _exit(3);
  WriteBatch b;
  for (uint64_t k = first;; ++k) {
    FillBatch(k, &b);
    if (!(*db)->Write("crash", b).ok()) _exit(4);
    if (write(fd, &k, sizeof(k)) != sizeof(k)) _exit(5);
  }
}

TEST(CrashSafety, AcknowledgedBatchesSurviveSigkill) {
  testing::TempDir dir;
  {
    auto db = DB::Open(CrashOptions(), dir.path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->CreateProject("crash"));
  }
  std::mt19937_64 rng(7);
  std::set<uint64_t> acked;
  uint64_t next = 0;
  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunChild(dir.path(), next, fds[1]);
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 250));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    uint64_t k;
    while (read(fds[0], &k, sizeof(k)) == sizeof(k)) {
      acked.insert(k);
      next = std::max(next, k + 1);
    }
    close(fds[0]);
    next += 1000;  // batches the child may have written but not reported are left alone

    Options o = CrashOptions();
    o.maintenance_interval_ms = 0;
    auto db = DB::Open(o, dir.path());
    ASSERT_TRUE(db) << "round " << round << ": " << db.error().ToString();
    // Which batches are present, per series column; a batch must be whole or absent.
    std::map<uint64_t, std::array<int, 2>> seen;
    Status s = (*db)->QueryRaw("crash", {}, {}, [&](const SeriesRef& ref, const PointRun& r) {
      for (size_t i = 0; i < r.size(); ++i) {
        const uint64_t batch = uint64_t((r.timestamps[i] - kT0) / 1000);
        const int idx = int((r.timestamps[i] - kT0) % 1000);
        const double want = ref.channel == "a" ? double(batch) + idx / 100.0 : -double(batch);
        EXPECT_EQ(r.f64[i], want) << "corrupt value in batch " << batch;
        seen[batch][ref.channel == "a" ? 0 : 1]++;
      }
      return true;
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (uint64_t a : acked) {
      ASSERT_TRUE(seen.count(a)) << "round " << round << ": acknowledged batch " << a << " lost";
    }
    for (const auto& [batch, counts] : seen) {
      EXPECT_EQ(counts[0], kPointsPerColumn) << "batch " << batch << " partly applied";
      EXPECT_EQ(counts[1], kPointsPerColumn) << "batch " << batch << " partly applied";
    }
  }
  EXPECT_GT(acked.size(), 100u) << "the child acknowledged too few writes to mean anything";
}

}  // namespace
}  // namespace sensordb
