// SystemStore: server-wide records that belong to no project — accounts, API tokens, grants,
// the audit log — sealed at rest under the database's system data key, like project data.
// Two kinds of record:
//  - named records: the name goes through a keyed hash before it becomes a RocksDB key, so no
//    name reaches the disk in clear; lookups by name, scans in no particular order;
//  - numbered records: u64 ids, scanned in id order (logs).
// Obtained from DB::System(); lives as long as its DB. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb {

enum class SystemSpace : uint8_t {
  kUsers = 1,
  kTokens = 2,
  kGrants = 3,
  kAudit = 4,
  kServer = 5,  // server settings and state (e.g. the bootstrap status)
  kDevices = 6,  // device certificates and device status (docs/DEVICES.md "Registry")
};

class SystemStore {
 public:
  struct Op {
    enum class Kind : uint8_t { kPutNamed, kDeleteNamed, kPutNumbered, kDeleteNumbered };
    Kind kind = Kind::kPutNamed;
    SystemSpace space = SystemSpace::kServer;
    std::string name;  // named records
    uint64_t id = 0;   // numbered records
    std::string value;
  };

  virtual ~SystemStore() = default;

  // Applies every op or none, durably (fsync) before returning.
  virtual Status Apply(std::span<const Op> ops) = 0;
  Status PutNamed(SystemSpace space, std::string_view name, std::string_view value) {
    Op op{Op::Kind::kPutNamed, space, std::string(name), 0, std::string(value)};
    return Apply({&op, 1});
  }

  virtual Result<std::optional<std::string>> GetNamed(SystemSpace space, std::string_view name) = 0;
  virtual Result<std::optional<std::string>> GetNumbered(SystemSpace space, uint64_t id) = 0;
  // Every named record of the space, in no particular order; fn returns false to stop.
  virtual Status ScanNamed(
      SystemSpace space,
      const std::function<bool(std::string_view name, std::string_view value)>& fn) = 0;
  // Numbered records with id >= from_id, in id order; fn returns false to stop.
  virtual Status ScanNumbered(SystemSpace space, uint64_t from_id,
                              const std::function<bool(uint64_t id, std::string_view value)>& fn) = 0;
  // The highest id in a numbered space, 0 when it is empty.
  virtual Result<uint64_t> LastNumbered(SystemSpace space) = 0;

  // File records: small values each in its own file of the data directory (DIR/<name>),
  // outside RocksDB, so that putting older RocksDB files back does not put them back too (the
  // audit log's anchor). Sealed like the other records and bound to `name`; a file altered or
  // copied to another name does not open. `name` is a plain file name such as "AUDIT_ANCHOR".
  // Put replaces the file atomically and durably (temp file, fsync, rename, directory fsync).
  virtual Status PutFileRecord(std::string_view name, std::string_view value) = 0;
  // nullopt when the file does not exist; Corruption naming the file when it does not open.
  virtual Result<std::optional<std::string>> GetFileRecord(std::string_view name) = 0;
};

}  // namespace sensordb
