// ProjectSecrets: small named values of a project (a device CA's private key, ...) kept in the
// meta column family as 'K' records, each sealed under the project's data key with record kind
// kProjectSecret (engine/docs/format/catalog.md). Names live only inside sealed values; keys
// hold the project id and a random record id. Nothing is cached: every Get opens the records
// of the project, so a secret is in memory only while a caller uses it. Thread-safe: a mutex
// serialises the read-modify-write of Put and Delete. Borrows the store and the cipher, which
// must outlive it; the caller keeps the project from being dropped during a call.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/cipher.h"
#include "sensordb/status.h"
#include "store/store.h"

namespace sensordb::catalog {

// Longest secret value, and longest name (names follow ValidateObjectName otherwise).
inline constexpr size_t kMaxSecretBytes = 64 * 1024;

class ProjectSecrets {
 public:
  ProjectSecrets(store::Store& store, const crypto::Cipher& cipher)
      : store_(store), cipher_(cipher) {}

  // Creates or replaces the secret `name` of the project (durably, fsync).
  Status Put(uint32_t project, std::string_view name, std::string_view value);
  // The value, or nullopt when the project has no secret of that name.
  Result<std::optional<std::string>> Get(uint32_t project, std::string_view name);
  // Deletes it; Ok when there was none.
  Status Delete(uint32_t project, std::string_view name);
  // Opens every secret of the project and seals it again under the newest data key.
  Status Reseal(uint32_t project);

 private:
  struct Found {
    std::string key;    // the record's meta key
    std::string value;  // the opened value
  };
  // The record named `name`, if any. Caller holds mu_.
  Result<std::optional<Found>> Find(uint32_t project, std::string_view name);

  store::Store& store_;
  const crypto::Cipher& cipher_;
  std::mutex mu_;
};

}  // namespace sensordb::catalog
