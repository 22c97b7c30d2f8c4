// Master keys and key management of encryption at rest (docs/SECURITY.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/key_status.h"
#include "sensordb/status.h"

namespace sensordb {

// Where the master key (KEK) comes from: a key file (32 random bytes, mode 0600, never
// group- or world-readable) or a passphrase stretched with Argon2id. Set exactly one.
// The engine copies a passphrase into locked memory; the caller should wipe its own copy.
struct KeySource {
  std::string key_file;
  std::string passphrase;
  // Argon2id cost, used when a new keyring is made with a passphrase (stored with it).
  uint64_t kdf_opslimit = 3;
  uint64_t kdf_memlimit_bytes = 256ull << 20;
};

// Creates a key file of 32 random bytes with mode 0600. Refuses to overwrite an existing file.
Status CreateKeyFile(std::string_view path);

// A master key's public fingerprint (hex), the same for the same key; for telling keys apart.
Result<std::string> KeyFingerprint(const KeySource& source, std::string_view data_dir);

// Progress of long key operations: units done of total (total may grow while running).
using ProgressCallback = std::function<void(uint64_t done, uint64_t total)>;

}  // namespace sensordb
