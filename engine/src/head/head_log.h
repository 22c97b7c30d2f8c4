// The head log: the durable form of the head, kept in the head column family (format in
// engine/docs/format/head_record.md). Head records (one per write), seal records (which points
// each series has sealed into blocks), the floor, replay and truncation all live here, and with
// them the crash and corruption rules of the head (docs/write_path.md, "Fail closed"):
//
//  - Replay reads every record and fails on the first one that does not decode or authenticate,
//    naming it (project id and sequence number); nothing is skipped because it could not be read.
//    In salvage the damage is reported to a sink and replay goes on.
//  - A record of a project the caller does not know is a leftover of a durably recorded drop and
//    is skipped unread (its key may be destroyed); the caller decides what it knows.
//  - Nothing here deletes anything but Truncate, which the caller runs only after an open that
//    validated everything. Truncate keeps every record an open chunk still needs.
//
// Thread-safe: the Add* functions are const; Truncate serialises itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "crypto/cipher.h"
#include "head/head_record.h"
#include "sensordb/status.h"
#include "store/store.h"

namespace sensordb::head {

// One series in a seal record: its points with block sequence numbers up to `sealed` are in
// blocks, so replay skips them.
struct SealEntry {
  uint64_t series = 0;
  uint64_t sealed = 0;
};
inline constexpr uint8_t kSealRecordVersion = 1;
void EncodeSealRecord(std::span<const SealEntry> entries, std::string* out);
Status DecodeSealRecord(std::string_view payload, std::vector<SealEntry>* out);

class HeadLog {
 public:
  // `store` and `cipher` must outlive the log.
  HeadLog(store::Store& store, const crypto::Cipher& cipher) : store_(store), cipher_(cipher) {}

  // Seals the head record of write `seq` (an EncodeHeadRecord payload) under the project's key
  // and puts it into `batch`, which the caller writes with the write's catalog records.
  Status AddRecord(uint32_t project, uint64_t seq, std::string_view payload,
                   store::Store::Batch* batch) const;
  // Seals a seal record into `batch`. `max_seq` is the highest block sequence it lists: the
  // record is truncated together with the head records it covers. `nonce` keeps two seal
  // records with the same max_seq apart.
  Status AddSealRecord(uint32_t project, uint64_t max_seq, uint64_t nonce,
                       std::span<const SealEntry> entries, store::Store::Batch* batch) const;

  // The sequence number a new database or a fully truncated log starts from (at least 1).
  // Corruption when the stored floor is malformed.
  Result<uint64_t> LoadFloor() const;

  struct ReplayHandler {
    // False for a project that was dropped: its records are skipped unread.
    std::function<bool(uint32_t project)> known;
    std::function<Status(uint32_t project, std::span<const SealEntry> entries)> seal;
    std::function<Status(uint32_t project, uint64_t seq, std::span<const HeadRecordEntry> entries)>
        record;
    // Null: the first damaged record fails the replay. Otherwise (salvage) each damaged record,
    // and each failure of `seal` or `record`, is reported here and the replay goes on.
    std::function<void(const Status&)> damage;
  };
  // All seal records first (every project's), then every head record in (project, seq) order.
  // Returns the highest sequence number any record carries (0 when there is none). An error
  // names the record: "head record 42 of project id 3: ...".
  Result<uint64_t> Replay(const ReplayHandler& handler) const;

  // Deletes the records of each project below its first needed sequence number: `open[p]`
  // where project p has open chunks, otherwise `applied + 1`, capped at `applied + 1` (a record
  // applied after `applied` was read may sit in a chunk that opened after `open` was taken);
  // and writes the floor `applied + 1`. Writes nothing when the arguments equal the last call's
  // (an idle database does not change its files).
  Status Truncate(std::span<const uint32_t> projects, uint64_t applied,
                  const std::map<uint32_t, uint64_t>& open);

 private:
  store::Store& store_;
  const crypto::Cipher& cipher_;
  std::mutex truncate_mu_;
  uint64_t truncated_applied_ = 0;               // GUARDED_BY(truncate_mu_)
  std::map<uint32_t, uint64_t> truncated_open_;  // GUARDED_BY(truncate_mu_)
  bool truncated_ = false;                       // GUARDED_BY(truncate_mu_)
};

}  // namespace sensordb::head
