// One audit log entry and its stored form (docs/AUTH.md "Audit log"). Entries are numbered from
// 1 (their SystemSpace::kAudit id) and hash-chained:
//   entry_hash = BLAKE2b-256(prev_hash ‖ body)
// where body is the serialised entry (version, seq, time, principal, address, action, project,
// outcome, detail) and prev_hash is the previous entry's entry_hash (32 zero bytes for entry 1).
// Values; thread-safe as values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb {

using AuditHash = std::array<uint8_t, 32>;

enum class AuditAction : uint8_t {
  kLogin = 1,
  kLoginFailed = 2,
  kLockout = 3,  // the first refusal of a lockout period; later ones are only counted
  kBootstrap = 4,
  kUserCreated = 5,
  kServiceAccountCreated = 6,
  kAccountDisabled = 7,
  kAccountEnabled = 8,
  kAccountDeleted = 9,
  kPasswordChanged = 10,
  kTokenIssued = 11,
  kTokenRevoked = 12,
  kGrantSet = 13,
  kGrantRemoved = 14,
  kProjectCreated = 15,
  kProjectDropped = 16,
  kKeyRotated = 17,
  kBackup = 18,
  kRestore = 19,
  kAccessDenied = 20,
  // Devices (docs/DEVICES.md).
  kDeviceCaCreated = 21,
  kDeviceEnrolled = 22,
  kDeviceCertRevoked = 23,
  kDeviceRevoked = 24,
  // Storage maintenance: flush and compact requested over the network.
  kStorageMaintained = 25,
  // Firmware (docs/OTA.md), changed over the network.
  kFirmwareRootAdded = 26,
  kFirmwareReleaseAdded = 27,
  kFirmwareReleaseRemoved = 28,
  kFirmwareRolloutChanged = 29,  // created, paused, resumed, cancelled
  kFirmwareKeyCreated = 30,      // the project's freshness key, made on its first request
  kFirmwareRolloutHalted = 31,   // by the server, when a wave's failures passed the threshold
};
inline constexpr uint8_t kMaxAuditAction = 31;

enum class AuditOutcome : uint8_t { kSuccess = 1, kFailure = 2, kDenied = 3 };

std::string_view AuditActionName(AuditAction action);  // "login", "grant-set", ...
std::string_view AuditOutcomeName(AuditOutcome outcome);

// What a caller records. `detail` is free text for people (never a secret: tokens in it are
// redacted on append, and no API puts a password there).
struct AuditEvent {
  int64_t time_ns = 0;
  std::string principal;  // the acting account, or the name tried in a failed login
  std::string address;    // the peer address, or "local"
  AuditAction action = AuditAction::kLogin;
  std::optional<uint32_t> project;  // the project concerned, none for server-wide events
  AuditOutcome outcome = AuditOutcome::kSuccess;
  std::string detail;
};

struct AuditEntry {
  uint64_t seq = 0;
  AuditEvent event;
  AuditHash prev_hash{};
  AuditHash hash{};  // as stored; Verify recomputes it
};

// Longest detail kept; longer ones are cut (an entry is not a place for bulk data).
inline constexpr size_t kMaxAuditDetailBytes = 1024;

// The serialised body of an entry (what the hash covers after prev_hash).
std::string EncodeAuditBody(uint64_t seq, const AuditEvent& e);
// BLAKE2b-256(prev_hash ‖ body).
AuditHash ChainHash(const AuditHash& prev_hash, std::string_view body);
// The stored value: prev_hash ‖ entry_hash ‖ body.
std::string EncodeAuditValue(const AuditHash& prev_hash, const AuditHash& hash,
                             std::string_view body);
// Parses a stored value; `body` (optional) receives the body bytes for re-hashing.
Result<AuditEntry> DecodeAuditValue(std::string_view value, std::string* body = nullptr);

// The audit head (SystemSpace::kServer, name kAuditHeadName): the number of entries and the
// hash of the last one, rewritten in the same atomic Apply as every append.
inline constexpr std::string_view kAuditHeadName = "audit.head";
struct AuditAnchor {
  uint64_t entries = 0;
  AuditHash hash{};
  bool operator==(const AuditAnchor&) const = default;
};
// Version 1: entries and hash. The anchor file (kAuditAnchorFile) holds this too.
std::string EncodeAuditAnchor(const AuditAnchor& a);
Result<AuditAnchor> DecodeAuditAnchor(std::string_view v);

// The head record as stored. Version 2 (written since issue 12) is version 1's fields with a
// promise: the log keeps an anchor file, so a missing one is a problem. A version 1 head comes
// from before anchor files existed.
struct AuditHead {
  AuditAnchor anchor;
  bool anchored = false;  // version 2
};
std::string EncodeAuditHead(const AuditAnchor& a);  // version 2
Result<AuditHead> DecodeAuditHead(std::string_view v);  // version 1 or 2

// The anchor file in the data directory (SystemStore::PutFileRecord): the highest entry count
// and last hash the log ever reached, rewritten after each append. It does not roll back with
// the RocksDB files, so an older head put back is seen (docs/AUTH.md "Rollback").
inline constexpr std::string_view kAuditAnchorFile = "AUDIT_ANCHOR";
std::string HashToHex(const AuditHash& h);

}  // namespace sensordb
