// KeyManager: the key operations that span parts — key status per project and version, and
// re-encryption of a project's stored values after a data key rotation (docs/SECURITY.md).
// Borrowed parts must outlive it. Thread-safe as far as its parts are; one re-encryption of a
// project at a time is the caller's to ensure.
#pragma once

#include <functional>

#include "catalog/catalog.h"
#include "catalog/project_files.h"
#include "catalog/project_secrets.h"
#include "crypto/cipher.h"
#include "crypto/keyring.h"
#include "sensordb/keys.h"
#include "store/store.h"

namespace sensordb {

class KeyManager {
 public:
  KeyManager(store::Store& store, const crypto::Cipher& cipher, crypto::Keyring& keyring,
             catalog::Catalog& catalog, catalog::ProjectSecrets& secrets,
             catalog::ProjectFiles& files)
      : store_(store),
        cipher_(cipher),
        keyring_(keyring),
        catalog_(catalog),
        secrets_(secrets),
        files_(files) {}

  Result<KeyStatusReport> Report();
  // Re-seals every value of the project under its newest key version. `flush` seals the head
  // and drops covered head records (DB::Flush). Destroys nothing: see DestroyOlderIfUnused.
  Status Reencrypt(catalog::ProjectMeta& project, const std::function<Status()>& flush,
                   const ProgressCallback& progress);
  // Destroys the project's older key versions if no stored value uses them; returns whether it
  // did. The caller holds the SealGate exclusively so no seal with an older version is in flight.
  Result<bool> DestroyOlderIfUnused(const catalog::ProjectMeta& project);

 private:
  // Counts the project's values by key version into `versions`.
  Status Census(uint32_t project, std::vector<KeyVersionStatus>* versions);
  // Re-seals blocks below `newest`; returns how many were rewritten.
  Result<uint64_t> ResealBlocks(uint32_t project, uint32_t newest, uint64_t total,
                                const ProgressCallback& progress);

  store::Store& store_;
  const crypto::Cipher& cipher_;
  crypto::Keyring& keyring_;
  catalog::Catalog& catalog_;
  catalog::ProjectSecrets& secrets_;
  catalog::ProjectFiles& files_;
};


}  // namespace sensordb
