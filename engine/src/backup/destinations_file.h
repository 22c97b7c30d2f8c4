// The backup destinations a database has written to, listed in DIR/BACKUP_DESTINATIONS (one
// absolute path a line, beside the RocksDB files but not among them), so that dropping a
// project can purge its keys from every backup keyring too (crypto-shredding, docs/BACKUP.md).
#pragma once

#include <string>
#include <vector>

#include "crypto/keyring.h"
#include "sensordb/status.h"

namespace sensordb::backup {

inline constexpr const char* kDestinationsFile = "BACKUP_DESTINATIONS";

// The registered destinations; none when the file does not exist.
Result<std::vector<std::string>> ReadDestinations(const std::string& data_dir);
// Adds `backup_dir` (made absolute) unless present; the file is replaced atomically and synced.
Status RegisterDestination(const std::string& data_dir, const std::string& backup_dir);
// This database's identity: random, made on first use in DIR/IDENTITY. A database restored from
// a backup starts with a new one (the file is not part of backups).
Result<std::string> DatabaseIdentity(const std::string& data_dir);
// Makes the backup keyring directory `keyring_dir` ours (its OWNER file), or fails if it belongs
// to another database: a restored database must not write into the backups of the one it came
// from, whose project ids it may reuse for other projects.
Status ClaimDestination(const std::string& keyring_dir, const std::string& identity);

// Projects this database has dropped, listed in DIR/DROPPED_PROJECTS (one id a line). Only
// these are purged from backup keyrings: a database restored from an older backup has its own
// (empty) list, so it never purges projects of the lineage it was restored from.
inline constexpr const char* kDroppedFile = "DROPPED_PROJECTS";
Result<std::vector<uint32_t>> ReadDroppedProjects(const std::string& data_dir);
// Adds `project` to the list, durably, before its keys are destroyed.
Status RecordDroppedProject(const std::string& data_dir, uint32_t project);
// The listed projects whose drop `keyring` records (authenticated, crypto/keyring.h): the file
// alone is no evidence of a drop, so an edited list purges nothing.
Result<std::vector<uint32_t>> ReadConfirmedDrops(const std::string& data_dir,
                                                 const crypto::Keyring& keyring);

// Removes the keys of every dropped project from each destination's keyring (and any verify
// scratch copy). Tries every destination; the error names the ones that failed.
Status PurgeDroppedKeys(const std::string& data_dir, const crypto::Keyring& keyring);

}  // namespace sensordb::backup
