// AuditLog: the append-only, hash-chained audit log in SystemSpace::kAudit (entries 1, 2, ...),
// with its head (entry count and last hash) in SystemSpace::kServer, rewritten in the same
// atomic SystemStore::Apply as each entry. Verify() walks the chain and names every place where
// it breaks. Thread-safe: appends are serialised by a mutex; reads and verification run
// concurrently with them. Borrows the SystemStore, which must outlive the log.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit_entry.h"
#include "sensordb/status.h"
#include "sensordb/system_store.h"

namespace sensordb {

struct AuditProblem {
  enum class Kind : uint8_t {
    kMissing,       // entries [seq, seq + count) are absent
    kUnreadable,    // the stored value at seq cannot be parsed
    kAltered,       // the entry at seq does not match its own hash
    kReordered,     // position seq holds another entry (its stored sequence number differs)
    kBrokenLink,    // the entry at seq does not follow seq - 1 (that one was altered or replaced)
    kTruncated,     // the head says more entries exist than are stored: [seq, seq + count) gone
    kHeadMismatch,  // the head's count or hash disagrees with the stored chain
    kRolledBack,    // the anchor file records entries past the head, or another last hash
    kAnchorDamaged, // the anchor file is missing, unreadable or older than the head
  };
  Kind kind = Kind::kMissing;
  uint64_t seq = 0;
  uint64_t count = 1;
  std::string message;
};
std::string_view AuditProblemName(AuditProblem::Kind kind);

struct AuditVerifyReport {
  uint64_t entries_checked = 0;
  AuditAnchor head;                    // as stored
  std::vector<AuditProblem> problems;  // in log order; at most kMaxReportedProblems
  bool ok() const { return problems.empty(); }
  std::string ToString() const;
};
inline constexpr size_t kMaxReportedProblems = 64;

enum class AuditOpenMode : uint8_t {
  // For a server: refuses (Corruption) a log whose head is missing or disagrees with its anchor
  // file, and brings the anchor file up to date (first use, or a stop between an entry and its
  // anchor).
  kServe,
  // For an operator's tools: opens whatever is there and writes nothing; Verify() reports.
  kInspect,
};

class AuditLog {
 public:
  // Fails with Corruption if entries exist but the head record is missing or unreadable
  // (fail closed: continuing would hide a truncation); in kServe mode also if the anchor file
  // shows that the log was rolled back, or is missing from a log that had one.
  static Result<std::unique_ptr<AuditLog>> Open(SystemStore& store,
                                                AuditOpenMode mode = AuditOpenMode::kServe);

  // Appends `event` (detail cut to kMaxAuditDetailBytes, tokens redacted) and applies `with`
  // in the same atomic batch, so a change and its audit entry are durable together or not at
  // all. Returns the entry's sequence number.
  Result<uint64_t> Append(AuditEvent event, std::span<const SystemStore::Op> with = {});

  // Entries with seq >= from_seq in order; fn returns false to stop. An unreadable entry stops
  // the read with Corruption (Verify says more).
  Status Read(uint64_t from_seq, const std::function<bool(const AuditEntry&)>& fn);

  // Walks the whole chain. When `anchor` is given (a head exported earlier, e.g. by an operator
  // to another machine), also checks that the chain still contains it unchanged.
  Result<AuditVerifyReport> Verify(std::optional<AuditAnchor> anchor = std::nullopt);

  AuditAnchor Head() const;

  // Writes the anchor file at the stored head, in place of a missing or unreadable one: after
  // a restore from a backup (which holds the RocksDB files only), or once an operator has
  // looked into why it was lost. Refused while the chain has other problems, and when the
  // file shows a rollback (remove the file first to accept that deliberately).
  Status AdoptAnchor();

 private:
  AuditLog(SystemStore& store, AuditAnchor head) : store_(store), head_(head) {}
  Status WriteAnchorLocked(const AuditAnchor& anchor);

  SystemStore& store_;
  mutable std::mutex mu_;
  AuditAnchor head_;           // GUARDED_BY(mu_)
  bool anchor_stale_ = false;  // GUARDED_BY(mu_): the anchor file lags head_
};

}  // namespace sensordb
