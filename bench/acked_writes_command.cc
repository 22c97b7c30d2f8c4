// sensordb-bench acked-writes: the two halves of the kill -9 loop (tests/kill9_test.sh,
// bench/kill9_loop.sh), which proves that no acknowledged point is lost when sensordbd dies.
//
//   write: writes batches to a running sensordbd, each point's value a pure function of
//     (device, channel, timestamp), until --seconds pass or the connection is lost. Once the
//     server has acknowledged a batch, one line per series of the batch goes to --log, all of a
//     batch's lines in one write(2):  RUN DEVICE CHANNEL FIRST_TS_NS STEP_NS COUNT
//     Run R writes timestamps in [kBaseNs + R * kRunSpanNs, kBaseNs + (R + 1) * kRunSpanNs), so
//     runs never write the same timestamp twice.
//   check: reads every point of the project back and verifies that each point logged as
//     acknowledged is present with exactly its value, and that every point present (acknowledged
//     or not) has its value.
//
// Exit codes: 0 ok (write: also when the server went away), 1 a failure (a missing or wrong
// point, an unexpected server error, a bad log), 2 bad arguments.
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bench_client.h"
#include "bench_commands.h"
#include "sensordb/client/client.h"

namespace {

using sensordb::Result;
using sensordb::Status;
using sensordb::client::AsyncClient;
using sensordb::client::Client;
using sensordb::client::ClientOptions;
using sensordb::client::WriteAck;

constexpr int64_t kBaseNs = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kRunSpanNs = 10'000'000'000'000;      // 10 000 s of timestamps per run
constexpr uint32_t kMaxRun = 700'000;                   // kBaseNs + kMaxRun spans < 2^63

// FNV-1a, continued from `h`.
uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The value of a point: hundredths in [-1000, 1000] (a sensor's decimal resolution, so the float
// codec stores it on its decimal path), decided by device, channel and timestamp alone.
double ExpectedValue(std::string_view device, std::string_view channel, int64_t ts) {
  uint64_t x = Fnv1a(channel, Fnv1a("/", Fnv1a(device))) ^ uint64_t(ts);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64's finalizer
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return double(int64_t(x % 200'001) - 100'000) / 100.0;
}

bool SameValue(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

struct CommonConfig {
  std::string server = "127.0.0.1:7070";
  std::string ca_file;
  std::string token_file;
  std::string project = "kill9";
  std::string log;
  bool json = false;
};

void AddCommonOptions(CLI::App& app, CommonConfig& c) {
  app.add_option("--server", c.server, "HOST:PORT of sensordbd");
  app.add_option("--ca-file", c.ca_file, "CA that signs the server certificate")->required();
  app.add_option("--token-file", c.token_file, "file with an API token (else $SENSORDB_TOKEN)");
  app.add_option("--project", c.project, "project to write and check (must exist)");
  app.add_option("--log", c.log, "the log of acknowledged batches")->required();
  app.add_flag("--json", c.json, "machine-readable output");
}

Result<ClientOptions> Options(const CommonConfig& c) {
  SENSORDB_ASSIGN_OR_RETURN(std::string token, sensordb::bench::ReadToken(c.token_file));
  return sensordb::bench::NativeClientOptions(c.server, "--server", "localhost", c.ca_file,
                                              std::move(token));
}

// ---- write ------------------------------------------------------------------------------------

struct WriteConfig {
  CommonConfig common;
  uint32_t run = 0;
  double seconds = 10;
  int devices = 8;
  int channels = 4;
  int64_t points = 250;  // per series and batch: 8 x 4 x 250 = 8000 points per Write
  int64_t step_ns = 1'000'000;
  uint32_t window = 4;
};

struct WriteTally {
  uint64_t batches = 0;
  uint64_t points = 0;
  uint64_t async_batches = 0;  // acknowledged before they were on disk (durability = "async")
  std::string end;             // why the run ended
};

// Appends the lines of one acknowledged batch with a single write(2).
Status AppendLines(int fd, const std::string& path, std::string_view lines) {
  while (!lines.empty()) {
    const ssize_t n = ::write(fd, lines.data(), lines.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::IOError(fmt::format("cannot append to {}: {}", path, std::strerror(errno)));
    }
    lines.remove_prefix(size_t(n));
  }
  return Status::Ok();
}

// One writer run on one connection: builds batch after batch, keeps up to `window` in flight,
// and logs each batch once acknowledged. Not thread-safe; `client` must outlive it.
class AckedWriter {
 public:
  AckedWriter(const WriteConfig& cfg, int log_fd, AsyncClient& client)
      : cfg_(cfg), log_fd_(log_fd), client_(client) {
    for (int d = 0; d < cfg.devices; ++d) devices_.push_back(fmt::format("k9-dev-{:03d}", d));
    for (int c = 0; c < cfg.channels; ++c) channels_.push_back(fmt::format("ch{}", c));
  }

  // Writes until the deadline, the end of the run's timestamps or the first failure; returns the
  // exit code (0 also when the server went away).
  int Run(std::chrono::steady_clock::time_point deadline, WriteTally* tally) {
    tally_ = tally;
    const int64_t max_batches = kRunSpanNs / (cfg_.points * cfg_.step_ns);
    for (int64_t k = 0; !stop_; ++k) {
      if (k == max_batches) {
        tally_->end = "the run's timestamps are used up";
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        tally_->end = "time is up";
        break;
      }
      std::string lines = BuildBatch(k);
      pending_.push_back(
          {client_.Write(cfg_.common.project, batch_), batch_.points(), std::move(lines)});
      while (pending_.size() >= cfg_.window && !stop_) Settle();
    }
    while (!pending_.empty()) Settle();
    return rc_;
  }

 private:
  struct Pending {
    std::future<Result<WriteAck>> ack;
    uint64_t points;
    std::string lines;  // for the log, once acknowledged
  };

  // Batch k of the run into batch_: every device and channel, cfg_.points points each; returns
  // its log lines.
  std::string BuildBatch(int64_t k) {
    const int64_t first = kBaseNs + int64_t(cfg_.run) * kRunSpanNs + k * cfg_.points * cfg_.step_ns;
    ts_.resize(size_t(cfg_.points));
    values_.resize(ts_.size());
    for (size_t i = 0; i < ts_.size(); ++i) ts_[i] = first + int64_t(i) * cfg_.step_ns;
    batch_.Clear();
    std::string lines;
    for (const auto& d : devices_) {
      for (const auto& c : channels_) {
        for (size_t i = 0; i < ts_.size(); ++i) values_[i] = ExpectedValue(d, c, ts_[i]);
        batch_.AddFloat64(d, c, ts_, values_);
        lines +=
            fmt::format("{} {} {} {} {} {}\n", cfg_.run, d, c, first, cfg_.step_ns, cfg_.points);
      }
    }
    return lines;
  }

  // Settles the oldest write: logs it if acknowledged; else decides whether the run ends
  // quietly (the connection is gone: the server died) or fails.
  void Settle() {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    Result<WriteAck> ack = p.ack.get();
    if (!ack) {
      if (tally_->end.empty()) tally_->end = ack.error().ToString();
      // The server's death closes the connection with an IOError (EOF, reset); an Error frame
      // on a live connection, or one that closes it, is the server refusing: a failure.
      const Status conn = client_.status();
      if ((conn.ok() || conn.code() != sensordb::StatusCode::kIOError) && rc_ == 0) {
        Fail("a write failed: " + ack.error().ToString());
      }
      stop_ = true;
      return;
    }
    if (ack->points != p.points) {
      Fail(fmt::format("the server acknowledged {} points of a {}-point batch", ack->points,
                       p.points));
      return;
    }
    if (Status s = AppendLines(log_fd_, cfg_.common.log, p.lines); !s.ok()) {
      Fail(s.ToString());
      return;
    }
    ++tally_->batches;
    tally_->points += p.points;
    if (ack->ack == sensordb::Durability::kAsync) ++tally_->async_batches;
  }

  void Fail(const std::string& why) {
    fmt::print(stderr, "sensordb-bench: {}\n", why);
    rc_ = 1;
    stop_ = true;
  }

  const WriteConfig& cfg_;
  const int log_fd_;
  AsyncClient& client_;
  std::vector<std::string> devices_, channels_;
  std::deque<Pending> pending_;
  sensordb::WriteBatch batch_;
  std::vector<int64_t> ts_;
  std::vector<double> values_;
  WriteTally* tally_ = nullptr;
  bool stop_ = false;
  int rc_ = 0;
};

int RunWrite(const WriteConfig& cfg) {
  auto fail = [](const Status& s) {
    return fmt::print(stderr, "sensordb-bench: {}\n", s.ToString()), 1;
  };
  if (cfg.points * cfg.step_ns > kRunSpanNs) {
    return fail(Status::InvalidArgument("--points x --step-ns exceeds a run's span"));
  }
  auto options = Options(cfg.common);
  if (!options) return fail(options.error());
  options->max_in_flight = cfg.window;
  const int fd = ::open(cfg.common.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(
        Status::IOError(fmt::format("cannot open {}: {}", cfg.common.log, std::strerror(errno))));
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(cfg.seconds));
  WriteTally tally;
  int rc = 0;
  if (auto client = AsyncClient::Connect(*options); client) {
    rc = AckedWriter(cfg, fd, **client).Run(deadline, &tally);
  } else {
    // The kill may come before the writer connects: a connection refused is the end of a run,
    // a refusal of the login or of the certificate is a failure.
    tally.end = client.error().ToString();
    rc = client.error().code() == sensordb::StatusCode::kIOError ? 0 : fail(client.error());
  }
  ::close(fd);
  if (cfg.common.json) {
    fmt::print(
        "{{\"run\": {}, \"batches_acked\": {}, \"points_acked\": {}, "
        "\"async_batches\": {}, \"failed\": {}}}\n",
        cfg.run, tally.batches, tally.points, tally.async_batches, rc != 0);
  } else {
    fmt::print("run {}: {} batches, {} points acknowledged ({} batches only async); ended: {}\n",
               cfg.run, tally.batches, tally.points, tally.async_batches, tally.end);
  }
  return rc;
}

// ---- check ------------------------------------------------------------------------------------

// Acknowledged points of one series, from one log line: first_ns + i * step_ns, i < count.
struct Acked {
  int64_t first_ns = 0;
  int64_t step_ns = 0;
  int64_t count = 0;
  uint32_t run = 0;
  size_t line = 0;
  int64_t last_ns() const { return first_ns + (count - 1) * step_ns; }
};

using SeriesKey = std::pair<std::string, std::string>;  // device, channel

// The log as acknowledged intervals per series, each series' intervals in time order.
Result<std::map<SeriesKey, std::vector<Acked>>> ReadLog(const std::string& path) {
  std::ifstream in(path);
  if (!in) return sensordb::Err(Status::NotFound("cannot read the log " + path));
  std::map<SeriesKey, std::vector<Acked>> out;
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    std::istringstream fields(text);
    std::string device, channel, extra;
    Acked a;
    a.line = line;
    if (!(fields >> a.run >> device >> channel >> a.first_ns >> a.step_ns >> a.count) ||
        (fields >> extra) || a.step_ns <= 0 || a.count <= 0) {
      return sensordb::Err(Status::Corruption(
          fmt::format("{}:{}: expected RUN DEVICE CHANNEL FIRST_TS_NS STEP_NS COUNT, got '{}'",
                      path, line, text)));
    }
    out[{device, channel}].push_back(a);
  }
  for (auto& [key, acked] : out) {
    std::sort(acked.begin(), acked.end(),
              [](const Acked& x, const Acked& y) { return x.first_ns < y.first_ns; });
    for (size_t i = 1; i < acked.size(); ++i) {
      if (acked[i].first_ns <= acked[i - 1].last_ns()) {
        return sensordb::Err(Status::Corruption(fmt::format(
            "{}: lines {} and {} claim overlapping timestamps of {} {} (a run number used twice?)",
            path, acked[i - 1].line, acked[i].line, key.first, key.second)));
      }
    }
  }
  return out;
}

struct CheckTally {
  uint64_t acked = 0;      // acknowledged points according to the log
  uint64_t present = 0;    // points read back
  uint64_t missing = 0;    // acknowledged, not read back
  uint64_t wrong = 0;      // read back with another value than their own
  uint64_t unordered = 0;  // a series' timestamp not above the previous one (a duplicate)
  uint64_t unacked = 0;    // read back, not in the log (written when the server died)
  std::vector<std::string> examples;
  void Example(std::string s) {
    if (examples.size() < 20) examples.push_back(std::move(s));
  }
};

// Walks one series' points (ascending) against its acknowledged intervals.
class SeriesChecker {
 public:
  SeriesChecker(std::string device, std::string channel, const std::vector<Acked>* acked,
                CheckTally* tally)
      : device_(std::move(device)), channel_(std::move(channel)), acked_(acked), tally_(*tally) {}

  void Point(int64_t ts, double value) {
    ++tally_.present;
    if (seen_any_ && ts <= last_ts_) {
      ++tally_.unordered;
      tally_.Example(
          fmt::format("unordered: {} {} ts {} after ts {}", device_, channel_, ts, last_ts_));
    }
    seen_any_ = true;
    last_ts_ = ts;
    if (const double want = ExpectedValue(device_, channel_, ts); !SameValue(value, want)) {
      ++tally_.wrong;
      tally_.Example(
          fmt::format("wrong: {} {} ts {}: {} instead of {}", device_, channel_, ts, value, want));
    }
    SkipMissingBefore(ts);
    if (Next() == ts) {
      Advance();
    } else {
      ++tally_.unacked;
    }
  }

  // The acknowledged points after the last one read back are missing.
  void Finish() { SkipMissingBefore(std::numeric_limits<int64_t>::max()); }

 private:
  // The next acknowledged timestamp not yet read back, if any.
  std::optional<int64_t> Next() const {
    if (!acked_ || i_ == acked_->size()) return std::nullopt;
    return (*acked_)[i_].first_ns + j_ * (*acked_)[i_].step_ns;
  }
  void Advance() {
    if (++j_ == (*acked_)[i_].count) {
      ++i_;
      j_ = 0;
    }
  }
  void SkipMissingBefore(int64_t ts) {
    for (std::optional<int64_t> n = Next(); n && *n < ts; Advance(), n = Next()) {
      ++tally_.missing;
      if (reported_ == i_) continue;  // one example per log line
      reported_ = i_;
      const Acked& a = (*acked_)[i_];
      tally_.Example(fmt::format(
          "missing: {} {} ts {} and maybe more (run {}, log line {}: {} points from ts {})",
          device_, channel_, *n, a.run, a.line, a.count, a.first_ns));
    }
  }

  std::string device_, channel_;
  const std::vector<Acked>* acked_;  // null: a series with no acknowledged point
  CheckTally& tally_;
  size_t i_ = 0;                // interval
  int64_t j_ = 0;               // point within it
  size_t reported_ = SIZE_MAX;  // the interval of the last missing point given as an example
  bool seen_any_ = false;
  int64_t last_ts_ = 0;
};

int RunCheck(const CommonConfig& cfg) {
  auto fail = [](const Status& s) {
    return fmt::print(stderr, "sensordb-bench: {}\n", s.ToString()), 1;
  };
  auto log = ReadLog(cfg.log);
  if (!log) return fail(log.error());
  auto options = Options(cfg);
  if (!options) return fail(options.error());
  auto client = Client::Connect(*options);
  if (!client) return fail(client.error());

  CheckTally tally;
  for (const auto& [key, acked] : *log) {
    for (const Acked& a : acked) tally.acked += uint64_t(a.count);
  }
  std::set<SeriesKey> seen;
  std::optional<SeriesChecker> series;
  uint64_t series_id = 0;
  // Every point of the project, series after series (the callback runs on the io thread; this
  // thread waits).
  auto r = (*client)->QueryRaw(
      cfg.project, {}, {}, 0, [&](const sensordb::SeriesRef& ref, const sensordb::PointRun& run) {
        if (!series || ref.series_id != series_id) {
          if (series) series->Finish();
          SeriesKey key{std::string(ref.device), std::string(ref.channel)};
          auto it = log->find(key);
          seen.insert(key);
          series.emplace(key.first, key.second, it == log->end() ? nullptr : &it->second, &tally);
          series_id = ref.series_id;
        }
        for (size_t i = 0; i < run.size(); ++i) {
          series->Point(run.timestamps[i], run.type == sensordb::ValueType::kFloat64
                                               ? run.f64[i]
                                               : std::numeric_limits<double>::quiet_NaN());
        }
        return true;
      });
  if (!r) return fail(r.error());
  if (series) series->Finish();
  for (const auto& [key, acked] : *log) {
    if (seen.contains(key)) continue;
    SeriesChecker(key.first, key.second, &acked, &tally).Finish();  // a series that vanished
  }

  const bool ok = tally.missing == 0 && tally.wrong == 0 && tally.unordered == 0;
  for (const auto& e : tally.examples) fmt::print(stderr, "sensordb-bench: {}\n", e);
  if (cfg.json) {
    fmt::print(
        "{{\"acked_points\": {}, \"present_points\": {}, \"missing\": {}, \"wrong\": {}, "
        "\"unordered\": {}, \"unacked_present\": {}, \"ok\": {}}}\n",
        tally.acked, tally.present, tally.missing, tally.wrong, tally.unordered, tally.unacked, ok);
  } else {
    fmt::print(
        "acknowledged points checked {}, missing {}, wrong {}, unordered {}; points read "
        "back {}, of which not acknowledged {}\n",
        tally.acked, tally.missing, tally.wrong, tally.unordered, tally.present, tally.unacked);
  }
  return ok ? 0 : 1;
}

}  // namespace

int RunAckedWritesCommand(int argc, char** argv) {
  CLI::App app{
      "sensordb-bench acked-writes: acknowledged writes and their check, for kill -9 loops"};
  app.require_subcommand(1);
  WriteConfig w;
  CLI::App* write = app.add_subcommand(
      "write", "write until --seconds pass or the server dies; log each acknowledged batch");
  AddCommonOptions(*write, w.common);
  write->add_option("--run", w.run, "run number: decides the timestamps (each run its own)")
      ->check(CLI::Range(uint32_t(0), kMaxRun));
  write->add_option("--seconds", w.seconds, "longest run")->check(CLI::PositiveNumber);
  write->add_option("--devices", w.devices, "devices per batch")->check(CLI::Range(1, 10'000));
  write->add_option("--channels", w.channels, "channels per device")->check(CLI::Range(1, 1'000));
  write->add_option("--points", w.points, "points per series and batch")
      ->check(CLI::Range(1, 100'000));
  write->add_option("--step-ns", w.step_ns, "time between a series' points")
      ->check(CLI::Range(int64_t(1), kRunSpanNs));
  write->add_option("--window", w.window, "writes in flight")->check(CLI::Range(1, 1024));
  CommonConfig c;
  CLI::App* check = app.add_subcommand(
      "check", "verify every acknowledged point, and every point present, by value");
  AddCommonOptions(*check, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return write->parsed() ? RunWrite(w) : RunCheck(c);
}
