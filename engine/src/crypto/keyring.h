// Keyring: every project's data keys (DEKs), wrapped by the master key (KEK), in one file
// DIR/KEYRING beside the RocksDB files but not among them, so backups of the data never carry
// keys and destroying a key is one atomic file replacement (format: engine/docs/format/keyring.md).
// Unwrapped keys live in SecretKey (locked, wiped memory). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "crypto/secret_key.h"
#include "sensordb/keys.h"
#include "sensordb/status.h"

namespace sensordb::crypto {

inline constexpr const char* kKeyringFile = "KEYRING";

struct DataKey {
  uint32_t version = 0;
  int64_t created_unix_s = 0;
  std::shared_ptr<const SecretKey> key;
};

class Keyring {
 public:
  // Opens DIR/KEYRING with the master key from `source`, or creates an empty keyring when
  // there is none and `create` is set. A wrong key fails with PermissionDenied naming both
  // fingerprints; a damaged file with Corruption.
  static Result<std::unique_ptr<Keyring>> Open(const std::string& dir, const KeySource& source,
                                               bool create);
  // Fingerprint of the key `source` gives for the keyring in `dir` (reads its KDF salt).
  static Result<std::string> FingerprintOf(const std::string& dir, const KeySource& source);
  static bool Exists(const std::string& dir);

  // The version new values of the project are sealed with; NotFound if it has no key.
  Result<DataKey> Active(uint32_t project) const;
  // A specific version, or null if it does not exist (never created, or destroyed).
  std::shared_ptr<const SecretKey> Get(uint32_t project, uint32_t version) const;
  std::vector<DataKey> Versions(uint32_t project) const;
  std::vector<uint32_t> Projects() const;

  // Adds a fresh random key version for the project (the first one creates its key), created at
  // `created_unix_s` (the caller's Options::clock), and persists the keyring before returning
  // the new version.
  Result<uint32_t> AddVersion(uint32_t project, int64_t created_unix_s);
  // Destroys every version of the project (crypto-shredding) and records the drop, both in one
  // atomic replacement of the file, persisted before returning. The drop record is
  // authenticated under the master key: it is the only evidence an open accepts that a project
  // was dropped (absence of a key or a catalog record never is).
  Status DestroyProject(uint32_t project);
  // True when DestroyProject recorded the project's drop.
  bool WasDropped(uint32_t project) const;
  // Destroys the project's versions below `keep_from`.
  Status DestroyVersionsBelow(uint32_t project, uint32_t keep_from);
  // Re-wraps every key under the master key from `source` and replaces the file atomically;
  // first re-wraps the backup keyrings in `copies` (sealed under the current master key) the
  // same way, keeping all their entries. Returns an error naming any copy it could not do.
  Status Rewrap(const KeySource& source, const std::vector<std::string>& copies = {});

  std::string fingerprint() const;
  std::string kdf_name() const;

  // --- Backup keyrings (docs/BACKUP.md): DIR/KEYRING files kept apart from copies of the data,
  // written under this keyring's master key and KDF parameters.
  // Rewrites `dir`/KEYRING (creating `dir` if needed) to hold every key of this keyring plus the
  // versions the file already holds of projects this keyring still has; projects it no longer
  // has (dropped) are left out. A file sealed under another master key (rotated since) cannot
  // be read and is replaced by this keyring's keys. A damaged file is Corruption.
  // Adds every key this keyring holds to `dir`/KEYRING (made if missing), keeping the keys it
  // already has. Fails, changing nothing, if it holds a different key for the same project and
  // version: the directory belongs to another database's lineage.
  Status MergeInto(const std::string& dir) const;
  // Removes the `dropped` projects' keys from `dir`/KEYRING and records their drops there
  // (crypto-shredding of dropped projects in backups; a database restored from them then knows
  // the projects were dropped). No file is fine.
  Status PurgeDroppedFrom(const std::string& dir, const std::vector<uint32_t>& dropped) const;

 private:
  struct Kdf {
    uint8_t type = 1;  // 1: key file, 2: Argon2id
    std::string salt;  // 16 bytes for Argon2id
    uint64_t opslimit = 0;
    uint64_t memlimit = 0;
  };
  Keyring(std::string dir) : dir_(std::move(dir)) {}
  static Result<SecretKey> DeriveKek(const KeySource& source, const Kdf& kdf);
  static Result<Kdf> NewKdf(const KeySource& source);
  // With `kek` set, uses that master key instead of deriving one from `source`.
  Status Load(const std::string& bytes, const KeySource& source, const SecretKey* kek = nullptr);
  // Reads `dir`/KEYRING with this keyring's master key into a new Keyring (not persisted).
  // Null when there is no file or it is sealed under another master key. Caller holds mu_.
  Result<std::unique_ptr<Keyring>> ReadWithOurKek(const std::string& dir) const;
  // Serialises and atomically replaces DIR/KEYRING. Caller holds mu_ exclusively.
  Status Persist(const SecretKey& kek, const Kdf& kdf, const std::string& fingerprint);

  const std::string dir_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<SecretKey> kek_;   // GUARDED_BY(mu_)
  Kdf kdf_;                          // GUARDED_BY(mu_)
  std::string fingerprint_;          // GUARDED_BY(mu_)
  std::map<uint32_t, std::map<uint32_t, DataKey>> keys_;  // project -> version -> key
  std::set<uint32_t> dropped_;                            // projects whose drop is recorded
};

}  // namespace sensordb::crypto
