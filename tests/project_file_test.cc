// Project files (DB::CreateProjectFile ..., engine/docs/format/project_files.md): sealed in
// chunks, read by range, never in clear on disk, re-sealed by re-encryption, gone with the
// project, carried by backups, and failing closed — an altered, missing or moved chunk is
// Corruption naming the file, the chunk and its bytes; an interrupted write leaves an
// incomplete file that only an explicit delete removes.
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup_test_util.h"
#include "catalog/project_files.h"
#include "store/keys.h"
#include "store/store.h"
#include "test_util.h"

namespace sensordb {
namespace {

using store::Cf;

constexpr char kProject[] = "fw";
constexpr char kCanary[] = "FirmwareCanaryQ7Z";
constexpr uint64_t kChunk = kProjectFileChunkBytes;

// 2.5 chunks of content with the canary every 4 KiB.
std::string Content(size_t n = 2 * kChunk + kChunk / 2, char salt = 'a') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = char((i * 131 + size_t(salt)) % 251);
  for (size_t i = 0; i + sizeof(kCanary) < n; i += 4096) {
    std::copy_n(kCanary, sizeof(kCanary) - 1, s.begin() + long(i));
  }
  return s;
}

std::array<uint8_t, 32> Sha256(std::string_view s) {
  std::array<uint8_t, 32> h{};
  crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return h;
}

std::string FilesHolding(const std::string& dir, std::string_view marker) {
  std::string hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (s.str().find(marker) != std::string::npos) hits += e.path().filename().string() + " ";
  }
  return hits;
}

class ProjectFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDb(dir_.path());
    ASSERT_TRUE(db_);
    ASSERT_TRUE(db_->CreateProject(kProject).has_value());
  }

  // Writes `content` in uneven pieces and commits it with `metadata`.
  ProjectFileInfo Write(std::string_view content, std::string_view metadata = "meta",
                        std::string_view project = kProject) {
    auto w = db_->CreateProjectFile(project);
    EXPECT_TRUE(w.has_value()) << w.error().ToString();
    if (!w) return {};
    for (size_t at = 0, step = 1; at < content.size(); at += step, step = step * 7 + 3) {
      EXPECT_TRUE((*w)->Append(content.substr(at, step)).ok());
    }
    EXPECT_EQ((*w)->length(), content.size());
    auto info = (*w)->Commit(metadata);
    EXPECT_TRUE(info.has_value()) << info.error().ToString();
    return info ? *info : ProjectFileInfo{};
  }

  std::string Read(uint64_t id, uint64_t offset, uint64_t length) {
    std::string out;
    Status s = db_->ReadProjectFile(kProject, id, offset, length, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  uint64_t FileRecords() {
    auto report = db_->KeyStatus();
    EXPECT_TRUE(report.has_value());
    bool found = false;
    uint64_t n = 0;
    for (const auto& p : report->projects) {
      if (p.project != kProject) continue;
      found = true;
      for (const auto& v : p.versions) n += v.file_records;
    }
    EXPECT_TRUE(found) << "no key status for " << kProject;
    return n;
  }

  // Edits the raw store with the database closed.
  void EditClosed(const std::function<void(store::Store&)>& edit) {
    db_.reset();
    auto s = store::Store::Open({}, dir_.path());
    ASSERT_TRUE(s) << s.error().ToString();
    edit(**s);
    s->reset();
    db_ = testing::OpenTestDb(dir_.path());
    ASSERT_TRUE(db_);
  }

  testing::TempDir dir_;
  std::unique_ptr<DB> db_;
};

TEST_F(ProjectFileTest, WrittenInPiecesReadByRange) {
  const std::string content = Content();
  const ProjectFileInfo f = Write(content, "the manifest");
  EXPECT_TRUE(f.complete);
  EXPECT_EQ(f.length, content.size());
  EXPECT_EQ(f.sha256, Sha256(content));
  EXPECT_EQ(f.metadata, "the manifest");
  EXPECT_EQ(Read(f.id, 0, content.size()), content);
  EXPECT_EQ(Read(f.id, kChunk - 10, 20), content.substr(kChunk - 10, 20));  // across a chunk
  EXPECT_EQ(Read(f.id, 2 * kChunk, 1 << 20), content.substr(2 * kChunk));   // cut at the end
  EXPECT_EQ(Read(f.id, content.size(), 5), "");
  EXPECT_EQ(Read(f.id, 10, UINT64_MAX), content.substr(10));  // the limit applies after the cut
  std::string out = "stale";
  EXPECT_EQ(db_->ReadProjectFile(kProject, f.id, content.size() + 1, 1, &out).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->ReadProjectFile(kProject, f.id + 1, 0, 1, &out).code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->ReadProjectFile("nope", f.id, 0, 1, &out).code(), StatusCode::kNotFound);

  const ProjectFileInfo empty = Write("");
  EXPECT_EQ(empty.length, 0u);
  EXPECT_EQ(Read(empty.id, 0, 10), "");
  auto listed = db_->ListProjectFiles(kProject);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->size(), 2u);
  auto got = db_->GetProjectFile(kProject, f.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->sha256, f.sha256);
  EXPECT_EQ(got->metadata, "the manifest");

  ASSERT_TRUE(db_->DeleteProjectFile(kProject, f.id).ok());
  EXPECT_EQ(db_->GetProjectFile(kProject, f.id).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->DeleteProjectFile(kProject, f.id).code(), StatusCode::kNotFound);
  EXPECT_EQ(Read(empty.id, 0, 1), "");
}

TEST_F(ProjectFileTest, AWriterWithoutCommitLeavesNothing) {
  {
    auto w = db_->CreateProjectFile(kProject);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->Append(Content()).ok());
    EXPECT_EQ(db_->ListProjectFiles(kProject)->size(), 1u);  // visible, incomplete
    EXPECT_FALSE(db_->ListProjectFiles(kProject)->front().complete);
  }
  EXPECT_EQ(db_->ListProjectFiles(kProject)->size(), 0u);
  EXPECT_EQ(FileRecords(), 0u);
  auto w = db_->CreateProjectFile(kProject);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ((*w)->Commit(std::string(kMaxProjectFileMetadataBytes + 1, 'm')).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ProjectFileTest, NeverInClearOnDiskAndCountedByKeyStatus) {
  Write(Content());
  EXPECT_EQ(FileRecords(), 4u);  // the record and three chunks
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(FilesHolding(dir_.path(), kCanary), "");
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_EQ(FilesHolding(dir_.path(), kCanary), "");
}

TEST_F(ProjectFileTest, ResealedByReencryptionReadableAfterTheOldKeyIsGone) {
  const std::string content = Content();
  const ProjectFileInfo f = Write(content);
  auto v2 = db_->RotateProjectKey(kProject);
  ASSERT_TRUE(v2.has_value());
  ASSERT_TRUE(db_->ReencryptProject(kProject).ok());
  auto report = db_->KeyStatus();
  ASSERT_TRUE(report.has_value());
  bool found = false;
  for (const auto& p : report->projects) {
    if (p.project != kProject) continue;
    found = true;
    ASSERT_EQ(p.versions.size(), 1u);  // version 1 destroyed: nothing uses it any more
    EXPECT_EQ(p.versions[0].version, *v2);
    EXPECT_EQ(p.versions[0].file_records, 4u);
  }
  EXPECT_TRUE(found);
  db_.reset();
  db_ = testing::OpenTestDb(dir_.path());
  ASSERT_TRUE(db_);
  EXPECT_EQ(Read(f.id, 0, content.size()), content);
}

// A write that spans a key rotation and re-encryption: its first chunk is re-sealed, its later
// ones use the new key, and everything reads once the old version is destroyed.
TEST_F(ProjectFileTest, AWriteSpanningReencryptionReadsAfterTheOldKeyIsGone) {
  const std::string content = Content();
  auto w = db_->CreateProjectFile(kProject);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->Append(content.substr(0, kChunk + 5)).ok());  // chunk 0 stored under v1
  ASSERT_TRUE(db_->RotateProjectKey(kProject).has_value());
  ASSERT_TRUE(db_->ReencryptProject(kProject).ok());  // v1 destroyed
  ASSERT_TRUE((*w)->Append(content.substr(kChunk + 5)).ok());
  auto f = (*w)->Commit("m");
  ASSERT_TRUE(f.has_value()) << f.error().ToString();
  EXPECT_EQ(Read(f->id, 0, content.size()), content);
}

// A directory written before the `files` family existed gets it at a read-write open.
TEST(ProjectFileUpgrade, OlderDirectoryGetsTheFamily) {
  testing::TempDir dir;
  {
    auto db = testing::OpenTestDb(dir.path());
    ASSERT_TRUE(db && db->CreateProject(kProject));
  }
  {  // Remove the family, as a version-3 build left its directories.
    rocksdb::Options o;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path(), cfs, &handles, &raw).ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "files") {
        EXPECT_TRUE(raw->DropColumnFamily(handles[i]).ok());
      }
    }
    for (auto* h : handles) EXPECT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
    names.clear();
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir.path(), &names).ok());
    ASSERT_EQ(std::count(names.begin(), names.end(), "files"), 0);
  }
  auto db = testing::OpenTestDb(dir.path());
  ASSERT_TRUE(db);
  EXPECT_EQ(db->ListProjectFiles(kProject)->size(), 0u);
  auto w = db->CreateProjectFile(kProject);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->Append("image").ok());
  ASSERT_TRUE((*w)->Commit("m").has_value());
}

TEST_F(ProjectFileTest, GoneWithTheDroppedProject) {
  const ProjectFileInfo f = Write(Content());
  const uint32_t old_id = db_->GetProject(kProject)->id;
  ASSERT_TRUE(db_->DropProject(kProject).ok());
  std::string out;
  EXPECT_EQ(db_->ReadProjectFile(kProject, f.id, 0, 1, &out).code(), StatusCode::kNotFound);
  ASSERT_TRUE(db_->CreateProject(kProject).has_value());
  EXPECT_EQ(db_->ListProjectFiles(kProject)->size(), 0u);
  EXPECT_EQ(db_->GetProjectFile(kProject, f.id).error().code(), StatusCode::kNotFound);
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_EQ(FilesHolding(dir_.path(), kCanary), "");
  size_t left = 1;
  EditClosed([&](store::Store& s) {  // no record of the old project's files is stored
    left = 0;
    auto it = s.NewIterator(Cf::kFiles);
    const std::string prefix = store::ProjectPrefix(old_id);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++left;
  });
  EXPECT_EQ(left, 0u);
}

TEST_F(ProjectFileTest, ADeleteDuringTheWriteEndsTheWrite) {
  auto w = db_->CreateProjectFile(kProject);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->Append(std::string(kChunk + 10, 'x')).ok());
  const uint64_t id = db_->ListProjectFiles(kProject)->front().id;
  ASSERT_TRUE(db_->DeleteProjectFile(kProject, id).ok());
  EXPECT_EQ((*w)->Append(std::string(kChunk, 'y')).code(), StatusCode::kNotFound);
  EXPECT_FALSE((*w)->Commit("m").has_value());
  w->reset();
  EXPECT_EQ(db_->ListProjectFiles(kProject)->size(), 0u);
  EXPECT_EQ(FileRecords(), 0u);  // no chunk left behind
  // A committed file cannot be committed or written again; a drop ends a write too.
  auto w2 = db_->CreateProjectFile(kProject);
  ASSERT_TRUE(w2.has_value());
  ASSERT_TRUE((*w2)->Append("abc").ok());
  ASSERT_TRUE(db_->DropProject(kProject).ok());
  EXPECT_EQ((*w2)->Commit("m").error().code(), StatusCode::kNotFound);
}

TEST_F(ProjectFileTest, FilesOfProjectsAreApart) {
  ASSERT_TRUE(db_->CreateProject("other").has_value());
  const ProjectFileInfo f = Write(Content(), "m", "other");
  std::string out;
  EXPECT_EQ(db_->ReadProjectFile(kProject, f.id, 0, 1, &out).code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->ListProjectFiles(kProject)->size(), 0u);
  EXPECT_EQ(db_->ListProjectFiles("other")->size(), 1u);
}

TEST_F(ProjectFileTest, AlteredMissingOrMovedChunksFailClosed) {
  const std::string content = Content();
  const ProjectFileInfo a = Write(content);
  const ProjectFileInfo b = Write(Content(content.size(), 'b'));
  const uint32_t pid = db_->GetProject(kProject)->id;
  const std::string where = "chunk 1 (bytes 65536-131071)";
  auto expect_corruption = [&](uint64_t id) {
    std::string out;
    Status s = db_->ReadProjectFile(kProject, id, 0, content.size(), &out);
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
    EXPECT_NE(s.message().find(where), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find(fmt::format("{:016x}", id)), std::string::npos) << s.ToString();
    // Chunk 0 alone still reads: a range opens only the chunks it covers.
    EXPECT_EQ(Read(id, 0, 100), content.substr(0, 100));
  };
  const std::string key1 = catalog::ProjectFileChunkKey(pid, a.id, 1);
  std::string original;
  EditClosed([&](store::Store& s) {  // a flipped byte
    auto v = s.Get(Cf::kFiles, key1);
    ASSERT_TRUE(v && *v);
    original = **v;
    std::string flipped = original;
    flipped[flipped.size() / 2] ^= 0x01;
    auto wb = s.NewBatch();
    wb.Put(Cf::kFiles, key1, flipped);
    ASSERT_TRUE(s.Write(wb, true).ok());
  });
  expect_corruption(a.id);
  EditClosed([&](store::Store& s) {  // b's chunk 1 in a's place
    auto v = s.Get(Cf::kFiles, catalog::ProjectFileChunkKey(pid, b.id, 1));
    ASSERT_TRUE(v && *v);
    auto wb = s.NewBatch();
    wb.Put(Cf::kFiles, key1, **v);
    ASSERT_TRUE(s.Write(wb, true).ok());
  });
  expect_corruption(a.id);
  EditClosed([&](store::Store& s) {  // gone
    auto wb = s.NewBatch();
    wb.Delete(Cf::kFiles, key1);
    ASSERT_TRUE(s.Write(wb, true).ok());
  });
  expect_corruption(a.id);
  std::string out;
  const Status missing = db_->ReadProjectFile(kProject, a.id, kChunk, 1, &out);
  EXPECT_NE(missing.message().find("is missing"), std::string::npos) << missing.ToString();
  // Nothing was deleted or repaired; the other file is intact.
  EXPECT_EQ(db_->ListProjectFiles(kProject)->size(), 2u);
  EXPECT_EQ(Read(b.id, 0, content.size()), Content(content.size(), 'b'));
  EditClosed([&](store::Store& s) {  // put back: reads again
    auto wb = s.NewBatch();
    wb.Put(Cf::kFiles, key1, original);
    ASSERT_TRUE(s.Write(wb, true).ok());
  });
  EXPECT_EQ(Read(a.id, 0, content.size()), content);
}

TEST_F(ProjectFileTest, CarriedByBackups) {
  const std::string content = Content();
  const ProjectFileInfo f = Write(content);
  const std::string backups = dir_.path() + "-backups";
  const BackupInfo info = testing::MustBackup(*db_, backups);
  db_.reset();
  const std::string restored = dir_.path() + "-restored";
  ASSERT_TRUE(RestoreBackup(backups, info.id, restored, testing::TestKey()).ok());
  auto db = testing::OpenTestDb(restored);
  ASSERT_TRUE(db);
  std::string out;
  ASSERT_TRUE(db->ReadProjectFile(kProject, f.id, 0, content.size(), &out).ok());
  EXPECT_EQ(out, content);
  db.reset();
  std::filesystem::remove_all(backups);
  std::filesystem::remove_all(restored);
}

// A process that dies while writing leaves an incomplete file: listed, never readable, removed
// only by an explicit delete.
TEST(ProjectFileCrash, InterruptedWriteLeavesAnIncompleteFile) {
  testing::TempDir dir;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = testing::OpenTestDb(dir.path());
    if (!db || !db->CreateProject(kProject)) _exit(2);
    auto w = db->CreateProjectFile(kProject);
    if (!w || !(*w)->Append(Content()).ok()) _exit(3);
    _exit(0);  // no destructor runs: as if killed (the chunks are in the log, in the OS)
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto db = testing::OpenTestDb(dir.path());
  ASSERT_TRUE(db);
  auto listed = db->ListProjectFiles(kProject);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE(listed->front().complete);
  std::string out;
  EXPECT_EQ(db->ReadProjectFile(kProject, listed->front().id, 0, 1, &out).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(db->DeleteProjectFile(kProject, listed->front().id).ok());
  EXPECT_EQ(db->ListProjectFiles(kProject)->size(), 0u);
  auto report = db->KeyStatus();
  ASSERT_TRUE(report.has_value());
  for (const auto& v : report->projects.front().versions) EXPECT_EQ(v.file_records, 0u);
}

}  // namespace
}  // namespace sensordb
