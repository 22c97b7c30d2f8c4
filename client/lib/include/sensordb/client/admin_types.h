// The values of the administration requests of the native protocol (protocol/README.md
// "Administration"): accounts, API tokens, grants and the audit log, as plain copies that outlive
// the reply frame. Devices, channels, projects and key reports use the engine's own types
// (sensordb/types.h, sensordb/key_status.h). Plain value types.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"

namespace sensordb::client {

enum class AccountKind : uint8_t { kUser = 0, kServiceAccount = 1 };
std::string_view AccountKindName(AccountKind kind);  // "user", "service-account"

struct AccountInfo {
  std::string name;
  AccountKind kind = AccountKind::kUser;
  bool superuser = false;
  bool disabled = false;
  int64_t created_ns = 0;
};

// What IssueToken returns. `token` is the secret ("sdb_<id>_<secret>"): the server sends it this
// once and keeps only a hash. Store it (a 0600 file, a secret store), never log it, and wipe it
// (Wipe()) when done; the destructor wipes it too.
struct IssuedToken {
  std::string token;
  std::string id;      // 8 characters, public: names the token in listings and RevokeToken
  std::string prefix;  // "sdb_<id>_"
  std::string account;
  int64_t expires_ns = 0;  // 0: never

  IssuedToken() = default;
  IssuedToken(IssuedToken&&) = default;
  IssuedToken& operator=(IssuedToken&&) = default;
  IssuedToken(const IssuedToken&) = delete;
  IssuedToken& operator=(const IssuedToken&) = delete;
  ~IssuedToken() { Wipe(); }
  // Overwrites the secret's bytes and empties it.
  void Wipe();
};

// Never a secret or a hash.
struct TokenInfo {
  std::string id;
  std::string prefix;
  std::string account;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;    // 0: never
  int64_t last_used_ns = 0;  // 0: never (updated at most once a minute)
  int64_t revoked_ns = 0;    // 0: not revoked
};

// A role in a project (docs/AUTH.md "Authorisation").
enum class Role : uint8_t { kOwner = 1, kAdmin = 2, kWriter = 3, kReader = 4 };
std::string_view RoleName(Role role);  // "owner", "admin", "writer", "reader"
// kInvalidArgument naming the valid names for anything else.
Result<Role> ParseRole(std::string_view name);

struct GrantInfo {
  std::string account;
  Role role = Role::kReader;
  int64_t granted_ns = 0;
  std::string granted_by;
};

inline constexpr size_t kAuditHashBytes = 32;
using AuditHash = std::array<uint8_t, kAuditHashBytes>;

struct AuditEntry {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  std::string principal;    // the acting account, or the name tried
  std::string address;      // the peer address, or "local"
  std::string action;       // "login", "grant-set", ... (docs/AUTH.md)
  uint32_t project_id = 0;  // 0: a server-wide entry
  std::string project;      // the project's name while it exists, else empty
  std::string outcome;      // "success", "failure", "denied"
  std::string detail;       // tokens in it are redacted by the server
  AuditHash prev_hash{};
  AuditHash hash{};
};

// Called on the client's io thread for each entry, in sequence order; false stops the read.
using AuditCallback = std::function<bool(const AuditEntry&)>;

struct AuditReadStats {
  uint64_t count = 0;     // entries handed to the callback
  uint64_t next_seq = 0;  // where the next read should start (0 when stopped early)
  bool stopped = false;   // the callback returned false
};

// An earlier head of the log, kept elsewhere: VerifyAudit then also proves that the chain still
// holds that exact entry.
struct AuditAnchor {
  uint64_t entries = 0;
  AuditHash hash{};
};

struct AuditVerifyReport {
  uint64_t entries_checked = 0;
  bool ok = false;
  AuditAnchor head;                   // the log's head now: a new anchor
  std::vector<std::string> problems;  // "kind: message" (at most 64); empty exactly when ok
};

struct RotatedProjectKey {
  uint32_t version = 0;      // the data key version new writes use
  bool reencrypted = false;  // older data re-sealed and older versions destroyed
};

}  // namespace sensordb::client
