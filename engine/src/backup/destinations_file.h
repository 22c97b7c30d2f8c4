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
// Removes the keys of every project `keyring` no longer has from each destination's keyring.
// Tries every destination; the error names the ones that failed.
Status PurgeDroppedKeys(const std::string& data_dir, const crypto::Keyring& keyring);

}  // namespace sensordb::backup
