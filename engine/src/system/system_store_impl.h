// SystemStoreImpl: the SystemStore of a DB (engine/docs/format/keys.md, 'Y' keys). Records are
// sealed under project id 0, the system's data key; names are turned into RocksDB keys with a
// keyed BLAKE2b hash whose key is itself a sealed system record, so names never reach the disk
// in clear. Thread-safe; borrows the store and cipher, which must outlive it.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "crypto/cipher.h"
#include "crypto/secret_key.h"
#include "sensordb/system_store.h"
#include "store/store.h"

namespace sensordb::system {

// The project id whose data key seals system records. Catalog project ids start at 1.
inline constexpr uint32_t kSystemProject = 0;
// Every system record's key in the meta column family starts with this.
inline constexpr std::string_view kSystemRecordPrefix = "Y";

class SystemStoreImpl final : public SystemStore {
 public:
  // `dir` is the data directory, where file records live.
  SystemStoreImpl(store::Store& store, const crypto::Cipher& cipher, std::string dir)
      : store_(store), cipher_(cipher), dir_(std::move(dir)) {}
  ~SystemStoreImpl() override;

  Status Apply(std::span<const Op> ops) override;
  Result<std::optional<std::string>> GetNamed(SystemSpace space, std::string_view name) override;
  Result<std::optional<std::string>> GetNumbered(SystemSpace space, uint64_t id) override;
  Status ScanNamed(SystemSpace space,
                   const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Status ScanNumbered(SystemSpace space, uint64_t from_id,
                      const std::function<bool(uint64_t, std::string_view)>& fn) override;
  Result<uint64_t> LastNumbered(SystemSpace space) override;
  Status PutFileRecord(std::string_view name, std::string_view value) override;
  Result<std::optional<std::string>> GetFileRecord(std::string_view name) override;

 private:
  // The RocksDB key of a named record (needs the name-hash key, loaded or made on first use).
  Result<std::string> NamedKey(SystemSpace space, std::string_view name);
  Status LoadHashKey();
  Result<std::string> Open(std::string_view key, std::string_view sealed) const;

  store::Store& store_;
  const crypto::Cipher& cipher_;
  const std::string dir_;
  std::mutex mu_;  // guards hash_key_ creation
  std::optional<crypto::SecretKey> hash_key_;  // once loaded (locked memory, wiped when freed)
};

}  // namespace sensordb::system
