#include "auth/records.h"

#include <ctime>

#include "sensordb/coding.h"

namespace sensordb::server {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kFlagSuperuser = 1;
constexpr uint8_t kFlagDisabled = 2;

Status Malformed(std::string_view what) {
  return Status::Corruption(std::string(what) +
                            " record is malformed; restore the system records from a backup");
}

}  // namespace

std::string FormatTimeUtc(int64_t unix_ns) {
  const time_t secs = static_cast<time_t>(unix_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string GrantName(uint32_t project_id, std::string_view account) {
  return std::to_string(project_id) + "/" + std::string(account);
}

bool IsValidAccountName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

// Accounts: version 2 adds password_changed_ns at the end; version 1 records (without it) are
// still read, as never changed.
constexpr uint8_t kAccountVersion = 2;

std::string EncodeAccount(const AccountRecord& r) {
  RecordWriter w;
  w.PutU8(kAccountVersion);
  w.PutString(r.name);
  w.PutU8(static_cast<uint8_t>(r.kind));
  w.PutU8(
      static_cast<uint8_t>((r.superuser ? kFlagSuperuser : 0) | (r.disabled ? kFlagDisabled : 0)));
  w.PutString(r.password_hash);
  w.PutSigned(r.created_ns);
  w.PutSigned(r.updated_ns);
  w.PutSigned(r.password_changed_ns);
  return w.Release();
}

Result<AccountRecord> DecodeAccount(std::string_view v) {
  RecordReader in(v);
  AccountRecord r;
  uint8_t version = 0, kind = 0, flags = 0;
  if (!in.GetU8(&version) || (version != kVersion && version != kAccountVersion) ||
      !in.GetString(&r.name) || !in.GetU8(&kind) || (kind != 1 && kind != 2) ||
      !in.GetU8(&flags) || !in.GetString(&r.password_hash) || !in.GetSigned(&r.created_ns) ||
      !in.GetSigned(&r.updated_ns) ||
      (version == kAccountVersion && !in.GetSigned(&r.password_changed_ns)) || !in.empty()) {
    return Err(Malformed("an account"));
  }
  r.kind = static_cast<PrincipalKind>(kind);
  r.superuser = flags & kFlagSuperuser;
  r.disabled = flags & kFlagDisabled;
  return r;
}

std::string EncodeToken(const TokenRecord& r) {
  RecordWriter w;
  w.PutU8(kVersion);
  w.PutString(r.id);
  w.PutString(r.account);
  w.PutBytes(r.hash);
  w.PutSigned(r.created_ns);
  w.PutSigned(r.expires_ns);
  w.PutSigned(r.last_used_ns);
  w.PutSigned(r.revoked_ns);
  return w.Release();
}

Result<TokenRecord> DecodeToken(std::string_view v) {
  RecordReader in(v);
  TokenRecord r;
  uint8_t version = 0;
  if (!in.GetU8(&version) || version != kVersion || !in.GetString(&r.id) ||
      !in.GetString(&r.account) || !in.GetBytes(r.hash) || !in.GetSigned(&r.created_ns) ||
      !in.GetSigned(&r.expires_ns) || !in.GetSigned(&r.last_used_ns) ||
      !in.GetSigned(&r.revoked_ns) || !in.empty()) {
    return Err(Malformed("an API token"));
  }
  return r;
}

std::string EncodeGrant(const GrantRecord& r) {
  RecordWriter w;
  w.PutU8(kVersion);
  w.PutVarint(r.project_id);
  w.PutString(r.account);
  w.PutU8(static_cast<uint8_t>(r.role));
  w.PutSigned(r.granted_ns);
  w.PutString(r.granted_by);
  return w.Release();
}

Result<GrantRecord> DecodeGrant(std::string_view v) {
  RecordReader in(v);
  GrantRecord r;
  uint8_t version = 0, role = 0;
  uint64_t project = 0;
  if (!in.GetU8(&version) || version != kVersion || !in.GetVarint(&project) ||
      project > UINT32_MAX || !in.GetString(&r.account) || !in.GetU8(&role) || !IsValidRole(role) ||
      !in.GetSigned(&r.granted_ns) || !in.GetString(&r.granted_by) || !in.empty()) {
    return Err(Malformed("a grant"));
  }
  r.project_id = static_cast<uint32_t>(project);
  r.role = static_cast<Role>(role);
  return r;
}

}  // namespace sensordb::server
