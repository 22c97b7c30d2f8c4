// Encryption at rest, seen from the disk: no name, value or key is ever stored in the clear
// (canary scans of every file of the data directory), and every stored value that is altered,
// swapped or moved is refused with Corruption instead of being read as data.
// Key handling, rotation and crypto-shredding are in key_management_test.cc.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

#include "block/block.h"
#include "crypto/cipher.h"
#include "crypto/keyring.h"
#include "store/keys.h"
#include "store/store.h"
#include "test_util.h"

namespace sensordb {
namespace {

using store::Cf;

// Markers: every name a user gives, and values the float codec stores as raw bits.
constexpr char kProject[] = "canaryproj7q";
constexpr char kDevice[] = "CanaryDeviceQX7";
constexpr char kChannel[] = "CanaryChannelJW3";
constexpr char kUnit[] = "CanaryUnitKV9";
constexpr char kModel[] = "CanaryModelPB2";
constexpr char kFirmware[] = "CanaryFirmwareRT5";
constexpr double kRawA = 0x1.23456789abcdep-700;   // not decimal: a raw 64-bit exception
constexpr double kRawB = -0x1.fedcba9876543p+300;  // likewise
constexpr double kDecimalA = 21.375;
constexpr double kDecimalB = 1234.5678;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int kPoints = 300;

std::string Bytes(double d) {  // little-endian, as the codec's exceptions store it
  static_assert(std::endian::native == std::endian::little);
  return std::string(reinterpret_cast<const char*>(&d), sizeof(d));
}

std::vector<std::pair<std::string, std::string>> Markers() {
  return {{"project", kProject},   {"device", kDevice},     {"channel", kChannel},
          {"unit", kUnit},         {"model", kModel},       {"firmware", kFirmware},
          {"raw A", Bytes(kRawA)}, {"raw B", Bytes(kRawB)}, {"decimal A", Bytes(kDecimalA)},
          {"decimal B", Bytes(kDecimalB)}};
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "file: marker" for every marker found in any file under `dir`.
std::vector<std::string> Scan(const std::string& dir,
                              const std::vector<std::pair<std::string, std::string>>& markers) {
  std::vector<std::string> hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = ReadFile(e.path());
    for (const auto& [what, m] : markers) {
      if (bytes.find(m) != std::string::npos) {
        hits.push_back(e.path().filename().string() + ": " + what);
      }
    }
  }
  return hits;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "; ";
  return s;
}

// Values: mostly decimals (so the decimal scheme is chosen), two non-decimals as exceptions.
std::vector<double> CanaryValues() {
  std::vector<double> v;
  for (int i = 0; i < kPoints; ++i) v.push_back(10.0 + (i % 40) * 0.25);
  v[7] = kRawA;
  v[50] = kDecimalA;
  v[51] = kDecimalB;
  v[123] = kRawB;
  return v;
}

void WriteCanary(DB& db, int64_t t0 = kT0) {
  ASSERT_TRUE(db.CreateProject(kProject).has_value() || db.GetProject(kProject).has_value());
  ASSERT_TRUE(db.RegisterDevice(kProject, {kDevice, kModel, kFirmware}).ok());
  ASSERT_TRUE(db.RegisterChannel(kProject, kDevice, kChannel, ValueType::kFloat64, kUnit));
  std::vector<int64_t> ts;
  for (int i = 0; i < kPoints; ++i) ts.push_back(t0 + i * 1000);
  const auto values = CanaryValues();
  WriteBatch b;
  b.AddFloat64(kDevice, kChannel, ts, values);
  ASSERT_TRUE(db.Write(kProject, b).ok());
}

void ExpectCanaryIntact(DB& db) {
  const auto pts = testing::ReadSeries(db, kProject, kDevice, kChannel);
  const auto values = CanaryValues();
  ASSERT_EQ(pts.size(), size_t(kPoints));
  for (int i = 0; i < kPoints; ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(pts[i].v), std::bit_cast<uint64_t>(values[i])) << i;
  }
}

std::unique_ptr<DB> OpenOrDie(const Options& o, const std::string& dir) {
  auto db = DB::Open(o, dir);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  return db ? std::move(*db) : nullptr;
}

TEST(EncryptionCanary, NothingInClearRightAfterWrite) {
  testing::TempDir dir;
  auto db = OpenOrDie(testing::TestOptions(), dir.path());
  WriteCanary(*db);
  EXPECT_EQ(Join(Scan(dir.path(), Markers())), "");  // data is in the WAL and the head
  ExpectCanaryIntact(*db);
}

TEST(EncryptionCanary, NothingInClearAfterFlushAndCompact) {
  testing::TempDir dir;
  auto db = OpenOrDie(testing::TestOptions(), dir.path());
  WriteCanary(*db);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(Join(Scan(dir.path(), Markers())), "");
  ExpectCanaryIntact(*db);
}

TEST(EncryptionCanary, NothingInClearAfterProjectKeyRotationAndReencryption) {
  testing::TempDir dir;
  auto db = OpenOrDie(testing::TestOptions(), dir.path());
  WriteCanary(*db);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->RotateProjectKey(kProject).has_value());
  WriteCanary(*db, kT0 + 1'000'000'000);  // a second run under the new version
  ASSERT_TRUE(db->ReencryptProject(kProject).ok());
  EXPECT_EQ(Join(Scan(dir.path(), Markers())), "");
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(Join(Scan(dir.path(), Markers())), "");
}

TEST(EncryptionCanary, NothingInClearAfterMasterKeyRotation) {
  testing::TempDir dir, keys;
  auto db = OpenOrDie(testing::TestOptions(), dir.path());
  WriteCanary(*db);
  ASSERT_TRUE(CreateKeyFile(keys.Sub("new.key")).ok());
  KeySource next;
  next.key_file = keys.Sub("new.key");
  ASSERT_TRUE(db->RotateMasterKey(next).ok());
  EXPECT_EQ(Join(Scan(dir.path(), Markers())), "");
  db.reset();
  Options o = testing::TestOptions();
  o.key.key_file = keys.Sub("new.key");
  db = OpenOrDie(o, dir.path());
  ExpectCanaryIntact(*db);
}

// Neither the master key nor any data key is ever written to the data directory.
TEST(EncryptionCanary, NoKeyMaterialInDataDirectory) {
  testing::TempDir dir;
  auto db = OpenOrDie(testing::TestOptions(), dir.path());
  WriteCanary(*db);
  ASSERT_TRUE(db->RotateProjectKey(kProject).has_value());
  const uint32_t pid = db->GetProject(kProject)->id;
  db.reset();
  auto ring = crypto::Keyring::Open(dir.path(), testing::TestOptions().key, false);
  ASSERT_TRUE(ring.has_value()) << ring.error().ToString();
  std::vector<std::pair<std::string, std::string>> keys = {
      {"master key", ReadFile(testing::TestKeyFile())}};
  for (const auto& dk : (*ring)->Versions(pid)) {
    keys.push_back({"data key v" + std::to_string(dk.version),
                    std::string(reinterpret_cast<const char*>(dk.key->data()), 32)});
  }
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(Join(Scan(dir.path(), keys)), "");
}

// The child writes the canary with sync durability, reports, and waits to be killed.
TEST(EncryptionCanary, NothingInClearAfterCrash) {
  testing::TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    {
      Options o = testing::TestOptions();
      o.durability = Durability::kSync;
      auto db = DB::Open(o, dir.path());
      if (!db) _exit(3);
      WriteCanary(**db);
      if (::testing::Test::HasFailure()) _exit(4);
      const char ok = 1;
      if (write(fds[1], &ok, 1) != 1) _exit(5);
      for (int i = 0; i < 600; ++i) sleep(1);  // bounded; SIGKILL comes first
      _exit(6);
    }
  }
  close(fds[1]);
  char ok = 0;
  ASSERT_EQ(read(fds[0], &ok, 1), 1) << "child failed before writing";
  close(fds[0]);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(Join(Scan(dir.path(), Markers())), "");  // as the crash left it
  auto db = OpenOrDie(testing::TestOptions(), dir.path());
  ExpectCanaryIntact(*db);
  db.reset();
  EXPECT_EQ(Join(Scan(dir.path(), Markers())), "");  // after recovery
}

// The scan is able to fail: without encryption it finds the names and the raw float bits.
TEST(EncryptionCanary, ScanFindsMarkersInPlaintextDatabase) {
  testing::TempDir dir;
  Options o = testing::TestOptions();
  o.key = {};
  o.insecure_plaintext_for_testing = true;
  auto db = OpenOrDie(o, dir.path());
  WriteCanary(*db);
  const std::string hits = Join(Scan(dir.path(), Markers()));
  for (const char* m : {"project", "device", "channel", "unit", "model", "firmware", "raw A",
                        "raw B"}) {
    EXPECT_NE(hits.find(std::string(".log: ") + m + ";"), std::string::npos)
        << m << " not found in the WAL; hits: " << hits;
  }
}

}  // namespace
}  // namespace sensordb
