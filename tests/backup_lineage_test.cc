// Backup directories shared over time: one user at a time, restored databases that must not
// damage the backups of the database they came from, and destinations that are not reachable.
#include <filesystem>

#include "backup/backup_manager.h"
#include "backup_test_util.h"

namespace sensordb {
namespace {

using namespace testing;  // NOLINT: the test helpers

TEST(BackupDirectory, IsUsedByOneManagerAtATime) {
  TempDir dir;
  auto first = backup::BackupManager::OpenLocal(dir.Sub("b"), /*create=*/true);
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = backup::BackupManager::OpenLocal(dir.Sub("b"), /*create=*/true);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.error().message().find("in use"), std::string::npos);
  first->reset();
  EXPECT_TRUE(backup::BackupManager::OpenLocal(dir.Sub("b"), true));
}

TEST(BackupLineage, RestoredOldBackupDoesNotDamageNewerBackups) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("x"));
  ASSERT_TRUE(WritePoints(*db, "x", "d", "a", 0, 50).ok());
  const BackupInfo old = MustBackup(*db, dir.Sub("b"));
  ASSERT_TRUE(db->CreateProject("y"));  // exists only in later backups
  ASSERT_TRUE(WritePoints(*db, "y", "d", "a", 0, 70).ok());
  const BackupInfo newer = MustBackup(*db, dir.Sub("b"));
  db.reset();

  // The old backup becomes a database of its own; it knows nothing of y.
  ASSERT_TRUE(RestoreBackup(dir.Sub("b"), old.id, dir.Sub("restored"), TestKey()).ok());
  auto restored = OpenTestDb(dir.Sub("restored"));
  ASSERT_TRUE(restored->CreateProject("z"));  // takes the project id y has in the original
  ASSERT_TRUE(WritePoints(*restored, "z", "d", "a", 0, 5).ok());
  ASSERT_TRUE(restored->DropProject("x").ok());
  auto refused = restored->CreateBackup(dir.Sub("b"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("another database"), std::string::npos);
  restored.reset();

  // The newer backup still restores y, and x: the restored copy's drop of x purged nothing
  // there, because the directory belongs to the original database.
  ASSERT_TRUE(RestoreBackup(dir.Sub("b"), newer.id, dir.Sub("again"), TestKey()).ok());
  auto again = OpenTestDb(dir.Sub("again"));
  EXPECT_EQ(CountPoints(*again, "y"), 70u);
  EXPECT_EQ(CountPoints(*again, "x"), 50u);
}

TEST(BackupLineage, DropReportsADestinationThatIsNotMounted) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WritePoints(*db, "p", "d", "a", 0, 10).ok());
  (void)MustBackup(*db, dir.Sub("mnt"));
  // The backup disk is unmounted: the mount point is an empty directory.
  std::filesystem::rename(dir.Sub("mnt"), dir.Sub("elsewhere"));
  std::filesystem::create_directory(dir.Sub("mnt"));
  const Status s = db->DropProject("p");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("mounted"), std::string::npos) << s.ToString();
  EXPECT_FALSE(db->GetProject("p"));  // dropped all the same: the live keys are gone
  // Once the disk is back, the next open purges the key there.
  db.reset();
  std::filesystem::remove(dir.Sub("mnt"));
  std::filesystem::rename(dir.Sub("elsewhere"), dir.Sub("mnt"));
  auto reopened = OpenTestDb(dir.Sub("db"));
  auto list = ListBackups(dir.Sub("mnt"));
  ASSERT_TRUE(list && !list->empty());
  ASSERT_TRUE(RestoreBackup(dir.Sub("mnt"), list->back().id, dir.Sub("r"), TestKey()).ok());
  EXPECT_FALSE(OpenTestDb(dir.Sub("r"))->GetProject("p"));  // its key was purged there
}

}  // namespace
}  // namespace sensordb
