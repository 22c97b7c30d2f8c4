// Master keys and the keyring: which key opens a database, and how every wrong key, damaged
// keyring or mismatched mode is refused with an error that says what to do, changing nothing.
// Rotation and crypto-shredding are in key_rotation_test.cc.
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace sensordb {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// Every file under `dir` with its contents.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = ReadFile(e.path().string());
  }
  return out;
}

Options WithKeyFile(const std::string& path) {
  Options o = testing::TestOptions();
  o.key = {};
  o.key.key_file = path;
  return o;
}

// Cheapest Argon2id costs libsodium allows, to keep tests fast.
Options WithPassphrase(const std::string& passphrase) {
  Options o = testing::TestOptions();
  o.key = {};
  o.key.passphrase = passphrase;
  o.key.kdf_opslimit = 1;
  o.key.kdf_memlimit_bytes = 8192;
  return o;
}

// A database with project "p", channel d/c holding 10 points; closed.
void MakeDb(const std::string& dir, const Options& o) {
  auto db = DB::Open(o, dir);
  ASSERT_TRUE(db) << db.error().ToString();
  ASSERT_TRUE((*db)->CreateProject("p"));
  WriteBatch b;
  for (int i = 0; i < 10; ++i) b.Add("d", "c", kT0 + i, Value::Float64(i));
  ASSERT_TRUE((*db)->Write("p", b).ok());
}

void ExpectData(const std::string& dir, const Options& o) {
  auto db = DB::Open(o, dir);
  ASSERT_TRUE(db) << db.error().ToString();
  EXPECT_EQ(testing::ReadSeries(**db, "p", "d", "c").size(), 10u);
}

Status OpenStatus(const std::string& dir, const Options& o) {
  auto db = DB::Open(o, dir);
  return db ? Status::Ok() : db.error();
}

bool Contains(const Status& s, const std::string& what) {
  return s.message().find(what) != std::string::npos;
}

TEST(MasterKey, WrongKeyIsPermissionDeniedNamingBothFingerprintsAndChangesNothing) {
  testing::TempDir dir, keys;
  MakeDb(dir.Sub("db"), testing::TestOptions());
  ASSERT_TRUE(CreateKeyFile(keys.Sub("other.key")).ok());
  const auto right = KeyFingerprint(testing::TestOptions().key, dir.Sub("db"));
  const auto wrong = KeyFingerprint(WithKeyFile(keys.Sub("other.key")).key, dir.Sub("db"));
  ASSERT_TRUE(right && wrong);
  ASSERT_NE(*right, *wrong);
  const auto before = Snapshot(dir.Sub("db"));
  const Status s = OpenStatus(dir.Sub("db"), WithKeyFile(keys.Sub("other.key")));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_TRUE(Contains(s, *right) && Contains(s, *wrong)) << s.ToString();
  EXPECT_EQ(Snapshot(dir.Sub("db")), before);
}

TEST(MasterKey, MissingKeyFileIsNotFoundNamingThePath) {
  testing::TempDir dir;
  const Status s = OpenStatus(dir.Sub("db"), WithKeyFile(dir.Sub("no-such.key")));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_TRUE(Contains(s, dir.Sub("no-such.key"))) << s.ToString();
}

TEST(MasterKey, GroupReadableKeyFileIsPermissionDeniedSuggestingChmod) {
  testing::TempDir dir;
  ASSERT_TRUE(CreateKeyFile(dir.Sub("k")).ok());
  ASSERT_EQ(chmod(dir.Sub("k").c_str(), 0644), 0);
  const Status s = OpenStatus(dir.Sub("db"), WithKeyFile(dir.Sub("k")));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_TRUE(Contains(s, "chmod 600")) << s.ToString();
}

TEST(MasterKey, KeyFileOfWrongLengthIsInvalidArgument) {
  testing::TempDir dir;
  for (size_t n : {0, 16, 31, 33, 64}) {
    const std::string k = dir.Sub("k" + std::to_string(n));
    WriteFile(k, std::string(n, 'x'));
    ASSERT_EQ(chmod(k.c_str(), 0600), 0);
    const Status s = OpenStatus(dir.Sub("db"), WithKeyFile(k));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n << ": " << s.ToString();
    EXPECT_TRUE(Contains(s, "32 bytes")) << s.ToString();
  }
}

TEST(MasterKey, NoKeyIsInvalidArgument) {
  testing::TempDir dir;
  Options o = testing::TestOptions();
  o.key = {};
  const Status s = OpenStatus(dir.Sub("db"), o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Contains(s, "CreateKeyFile")) << s.ToString();
}

TEST(MasterKey, BothKeyFileAndPassphraseIsInvalidArgument) {
  testing::TempDir dir;
  Options o = WithPassphrase("pw");
  o.key.key_file = testing::TestKeyFile();
  EXPECT_EQ(OpenStatus(dir.Sub("db"), o).code(), StatusCode::kInvalidArgument);
}

TEST(MasterKey, CreateKeyFileMakesOwnerOnlyFileAndNeverOverwrites) {
  testing::TempDir dir;
  const mode_t old = umask(0);  // even with a permissive umask
  const Status made = CreateKeyFile(dir.Sub("k"));
  umask(old);
  ASSERT_TRUE(made.ok()) << made.ToString();
  struct stat st {};
  ASSERT_EQ(stat(dir.Sub("k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  const std::string key = ReadFile(dir.Sub("k"));
  const Status again = CreateKeyFile(dir.Sub("k"));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_EQ(ReadFile(dir.Sub("k")), key);
}

// keyring.md: 81 bytes plus 88 per data key for a key-file keyring, 32 more with a passphrase.
TEST(Keyring, SizeMatchesDocumentedLayout) {
  testing::TempDir dir;
  // Two entries of 88 bytes: the project's data key and the system records' key (project 0);
  // no drop record (4 bytes of count).
  MakeDb(dir.Sub("a"), testing::TestOptions());
  EXPECT_EQ(ReadFile(dir.Sub("a") + "/KEYRING").size(), 81u + 2 * 88u + 4u);
  MakeDb(dir.Sub("b"), WithPassphrase("pw"));
  EXPECT_EQ(ReadFile(dir.Sub("b") + "/KEYRING").size(), 81u + 32u + 2 * 88u + 4u);
  EXPECT_EQ(ReadFile(dir.Sub("a") + "/KEYRING").substr(0, 8), "SDBKEYR1");
}

TEST(Keyring, KeyringFileIsOwnerOnly) {
  testing::TempDir dir;
  const mode_t old = umask(0);
  MakeDb(dir.path(), testing::TestOptions());
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat(dir.Sub("KEYRING").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
}

TEST(Keyring, TruncatedKeyringIsCorruption) {
  testing::TempDir dir;
  MakeDb(dir.path(), testing::TestOptions());
  const std::string ring = ReadFile(dir.Sub("KEYRING"));
  for (size_t cut : {size_t(0), size_t(5), size_t(12), size_t(13), size_t(45), size_t(49),
                     ring.size() / 2, ring.size() - 33, ring.size() - 1}) {
    WriteFile(dir.Sub("KEYRING"), ring.substr(0, cut));
    const Status s = OpenStatus(dir.path(), testing::TestOptions());
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << "cut at " << cut << ": " << s.ToString();
    EXPECT_TRUE(Contains(s, dir.Sub("KEYRING"))) << s.ToString();
  }
  WriteFile(dir.Sub("KEYRING"), ring);
  ExpectData(dir.path(), testing::TestOptions());
}

TEST(Keyring, EveryFlippedByteOfKeyringIsCorruption) {
  testing::TempDir dir;
  MakeDb(dir.path(), testing::TestOptions());
  const std::string ring = ReadFile(dir.Sub("KEYRING"));
  for (size_t at = 0; at < ring.size(); ++at) {
    std::string bad = ring;
    bad[at] = char(bad[at] ^ 0x10);
    WriteFile(dir.Sub("KEYRING"), bad);
    const Status s = OpenStatus(dir.path(), testing::TestOptions());
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << "byte " << at << ": " << s.ToString();
  }
  WriteFile(dir.Sub("KEYRING"), ring);
  ExpectData(dir.path(), testing::TestOptions());
}

TEST(Keyring, MissingKeyringOfExistingDatabaseIsFailedPrecondition) {
  testing::TempDir dir;
  MakeDb(dir.path(), testing::TestOptions());
  std::filesystem::remove(dir.Sub("KEYRING"));
  const Status s = OpenStatus(dir.path(), testing::TestOptions());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_TRUE(Contains(s, "KEYRING")) << s.ToString();
}

TEST(Passphrase, RoundTripsAndWrongPassphraseIsPermissionDenied) {
  testing::TempDir dir;
  MakeDb(dir.path(), WithPassphrase("correct horse"));
  ExpectData(dir.path(), WithPassphrase("correct horse"));
  const Status s = OpenStatus(dir.path(), WithPassphrase("correct horsf"));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  auto db = DB::Open(WithPassphrase("correct horse"), dir.path());
  ASSERT_TRUE(db);
  EXPECT_EQ((*db)->KeyStatus()->kdf, "argon2id");
}

TEST(Passphrase, PassphraseNeverWrittenToDataDirectory) {
  testing::TempDir dir;
  MakeDb(dir.path(), WithPassphrase("PassphraseCanaryZ81"));
  for (const auto& [path, bytes] : Snapshot(dir.path())) {
    EXPECT_EQ(bytes.find("PassphraseCanaryZ81"), std::string::npos) << path;
  }
}

TEST(Passphrase, CostsBelowLibsodiumMinimumAreInvalidArgument) {
  testing::TempDir dir;
  Options o = WithPassphrase("pw");
  o.key.kdf_opslimit = 0;
  EXPECT_EQ(OpenStatus(dir.Sub("a"), o).code(), StatusCode::kInvalidArgument);
  o = WithPassphrase("pw");
  o.key.kdf_memlimit_bytes = 1024;
  EXPECT_EQ(OpenStatus(dir.Sub("b"), o).code(), StatusCode::kInvalidArgument);
}

TEST(Passphrase, KeyFileOnPassphraseDatabaseIsClearError) {
  testing::TempDir dir;
  MakeDb(dir.path(), WithPassphrase("pw"));
  const Status s = OpenStatus(dir.path(), testing::TestOptions());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Contains(s, "passphrase")) << s.ToString();
}

TEST(Passphrase, PassphraseOnKeyFileDatabaseIsClearError) {
  testing::TempDir dir;
  MakeDb(dir.path(), testing::TestOptions());
  const Status s = OpenStatus(dir.path(), WithPassphrase("pw"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Contains(s, "key file")) << s.ToString();
}

TEST(PlaintextMode, OpeningEncryptedDatabaseWithoutEncryptionFails) {
  testing::TempDir dir;
  MakeDb(dir.path(), testing::TestOptions());
  Options o = testing::TestOptions();
  o.insecure_plaintext_for_testing = true;
  const Status s = OpenStatus(dir.path(), o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  ExpectData(dir.path(), testing::TestOptions());
}

TEST(PlaintextMode, OpeningPlaintextDatabaseWithKeyFails) {
  testing::TempDir dir;
  Options plain = testing::TestOptions();
  plain.key = {};
  plain.insecure_plaintext_for_testing = true;
  MakeDb(dir.path(), plain);
  const Status s = OpenStatus(dir.path(), testing::TestOptions());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("KEYRING")));
  ExpectData(dir.path(), plain);
}

}  // namespace
}  // namespace sensordb
