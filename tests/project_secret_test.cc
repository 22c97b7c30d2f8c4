// Project secrets (DB::PutProjectSecret ...): named values sealed with the project's catalog,
// never on disk in clear, kept across reopen and key rotation, counted by KeyStatus, and gone
// with the project (crypto-shredding).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"

namespace sensordb {
namespace {

constexpr char kProject[] = "secrets";
constexpr char kName[] = "SecretNameCanaryZQ8";
constexpr char kValue[] = "SecretValueCanaryWX4-private-key-bytes";

std::unique_ptr<DB> OpenOrDie(const std::string& dir) {
  auto db = DB::Open(testing::TestOptions(), dir);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  return db ? std::move(*db) : nullptr;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Files under `dir` holding `marker`.
std::string FilesHolding(const std::string& dir, std::string_view marker) {
  std::string hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && ReadFile(e.path()).find(marker) != std::string::npos) {
      hits += e.path().filename().string() + " ";
    }
  }
  return hits;
}

std::optional<std::string> Get(DB& db, std::string_view name) {
  auto v = db.GetProjectSecret(kProject, name);
  EXPECT_TRUE(v.has_value()) << v.error().ToString();
  return v ? *v : std::nullopt;
}

uint64_t CatalogRecords(DB& db) {
  auto report = db.KeyStatus();
  EXPECT_TRUE(report.has_value());
  uint64_t n = 0;
  for (const auto& p : report->projects) {
    if (p.project != kProject) continue;
    for (const auto& v : p.versions) n += v.catalog_records;
  }
  return n;
}

class ProjectSecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenOrDie(dir_.path());
    ASSERT_TRUE(db_->CreateProject(kProject).has_value());
  }
  testing::TempDir dir_;
  std::unique_ptr<DB> db_;
};

TEST_F(ProjectSecretTest, PutGetReplaceDelete) {
  EXPECT_EQ(Get(*db_, kName), std::nullopt);
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, kValue).ok());
  ASSERT_TRUE(db_->PutProjectSecret(kProject, "other", "x").ok());
  EXPECT_EQ(Get(*db_, kName), kValue);
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, "second").ok());
  EXPECT_EQ(Get(*db_, kName), "second");
  EXPECT_EQ(Get(*db_, "other"), "x");
  ASSERT_TRUE(db_->DeleteProjectSecret(kProject, kName).ok());
  EXPECT_EQ(Get(*db_, kName), std::nullopt);
  EXPECT_TRUE(db_->DeleteProjectSecret(kProject, kName).ok());  // idempotent
  EXPECT_EQ(Get(*db_, "other"), "x");
}

TEST_F(ProjectSecretTest, BadNamesSizesAndProjectsAreRefused) {
  EXPECT_EQ(db_->PutProjectSecret(kProject, "", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->PutProjectSecret(kProject, "a\nb", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->PutProjectSecret(kProject, "big", std::string(64 * 1024 + 1, 'x')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(db_->PutProjectSecret(kProject, "max", std::string(64 * 1024, 'x')).ok());
  EXPECT_EQ(db_->PutProjectSecret("nope", "n", "v").code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->GetProjectSecret("nope", "n").error().code(), StatusCode::kNotFound);
}

TEST_F(ProjectSecretTest, SecretsOfProjectsAreApart) {
  ASSERT_TRUE(db_->CreateProject("second").has_value());
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, "one").ok());
  ASSERT_TRUE(db_->PutProjectSecret("second", kName, "two").ok());
  EXPECT_EQ(Get(*db_, kName), "one");
  EXPECT_EQ(*db_->GetProjectSecret("second", kName), "two");
}

TEST_F(ProjectSecretTest, NeverInClearOnDisk) {
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, kValue).ok());
  EXPECT_EQ(FilesHolding(dir_.path(), kValue), "");
  EXPECT_EQ(FilesHolding(dir_.path(), kName), "");
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_EQ(FilesHolding(dir_.path(), kValue), "");
  EXPECT_EQ(FilesHolding(dir_.path(), kName), "");
}

TEST_F(ProjectSecretTest, SurvivesReopen) {
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, kValue).ok());
  db_.reset();
  db_ = OpenOrDie(dir_.path());
  EXPECT_EQ(Get(*db_, kName), kValue);
}

TEST_F(ProjectSecretTest, CountedByKeyStatusAsCatalogRecord) {
  const uint64_t before = CatalogRecords(*db_);
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, kValue).ok());
  EXPECT_EQ(CatalogRecords(*db_), before + 1);
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, "replaced").ok());
  EXPECT_EQ(CatalogRecords(*db_), before + 1);
}

TEST_F(ProjectSecretTest, ResealedByReencryptionAndReadableAfterOldKeyIsGone) {
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, kValue).ok());
  auto v2 = db_->RotateProjectKey(kProject);
  ASSERT_TRUE(v2.has_value());
  ASSERT_TRUE(db_->ReencryptProject(kProject).ok());
  auto report = db_->KeyStatus();
  ASSERT_TRUE(report.has_value());
  for (const auto& p : report->projects) {
    if (p.project != kProject) continue;
    ASSERT_EQ(p.versions.size(), 1u);  // version 1 destroyed: nothing used it any more
    EXPECT_EQ(p.versions[0].version, *v2);
  }
  EXPECT_EQ(Get(*db_, kName), kValue);
  db_.reset();
  db_ = OpenOrDie(dir_.path());
  EXPECT_EQ(Get(*db_, kName), kValue);
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_EQ(FilesHolding(dir_.path(), kValue), "");
}

TEST_F(ProjectSecretTest, GoneWithDroppedProject) {
  ASSERT_TRUE(db_->PutProjectSecret(kProject, kName, kValue).ok());
  const uint32_t old_id = db_->GetProject(kProject)->id;
  ASSERT_TRUE(db_->DropProject(kProject).ok());
  EXPECT_EQ(db_->GetProjectSecret(kProject, kName).error().code(), StatusCode::kNotFound);
  // A new project of the same name has a new id and key: nothing of the old one shows.
  ASSERT_TRUE(db_->CreateProject(kProject).has_value());
  EXPECT_NE(db_->GetProject(kProject)->id, old_id);
  EXPECT_EQ(Get(*db_, kName), std::nullopt);
  db_.reset();
  db_ = OpenOrDie(dir_.path());
  EXPECT_EQ(Get(*db_, kName), std::nullopt);
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_EQ(FilesHolding(dir_.path(), kValue), "");
}

TEST(ProjectSecretPlaintext, WorksInTestModeToo) {
  testing::TempDir dir;
  Options o;
  o.insecure_plaintext_for_testing = true;
  o.maintenance_interval_ms = 0;
  auto db = DB::Open(o, dir.path());
  ASSERT_TRUE(db.has_value());
  ASSERT_TRUE((*db)->CreateProject(kProject).has_value());
  ASSERT_TRUE((*db)->PutProjectSecret(kProject, kName, kValue).ok());
  EXPECT_EQ(*(*db)->GetProjectSecret(kProject, kName), kValue);
}

}  // namespace
}  // namespace sensordb
