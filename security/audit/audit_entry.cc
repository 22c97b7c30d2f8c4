#include "audit/audit_entry.h"

#include <sodium.h>

#include <iterator>

#include "sensordb/coding.h"
#include "tokens/token_text.h"

namespace sensordb {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kAnchoredHeadVersion = 2;  // the head of a log that keeps an anchor file

Status Malformed(std::string_view what) {
  return Status::Corruption(std::string(what) + " is malformed");
}

}  // namespace

std::string_view AuditActionName(AuditAction action) {
  static constexpr std::string_view kNames[] = {"unknown",
                                                "login",
                                                "login-failed",
                                                "lockout",
                                                "bootstrap",
                                                "user-created",
                                                "service-account-created",
                                                "account-disabled",
                                                "account-enabled",
                                                "account-deleted",
                                                "password-changed",
                                                "token-issued",
                                                "token-revoked",
                                                "grant-set",
                                                "grant-removed",
                                                "project-created",
                                                "project-dropped",
                                                "key-rotated",
                                                "backup",
                                                "restore",
                                                "access-denied",
                                                "device-ca-created",
                                                "device-enrolled",
                                                "device-cert-revoked",
                                                "device-revoked",
                                                "storage-maintained",
                                                "firmware-root-added",
                                                "firmware-release-added",
                                                "firmware-release-removed",
                                                "firmware-rollout-changed",
                                                "firmware-key-created",
                                                "firmware-rollout-halted"};
  static_assert(std::size(kNames) == kMaxAuditAction + 1, "a name for every action");
  const auto i = static_cast<uint8_t>(action);
  return i <= kMaxAuditAction ? kNames[i] : kNames[0];
}

std::string_view AuditOutcomeName(AuditOutcome outcome) {
  switch (outcome) {
    case AuditOutcome::kSuccess:
      return "success";
    case AuditOutcome::kFailure:
      return "failure";
    case AuditOutcome::kDenied:
      return "denied";
  }
  return "unknown";
}

std::string EncodeAuditBody(uint64_t seq, const AuditEvent& e) {
  RecordWriter w;
  w.PutU8(kVersion);
  w.PutVarint(seq);
  w.PutSigned(e.time_ns);
  w.PutString(e.principal);
  w.PutString(e.address);
  w.PutU8(static_cast<uint8_t>(e.action));
  w.PutVarint(e.project ? uint64_t{*e.project} + 1 : 0);
  w.PutU8(static_cast<uint8_t>(e.outcome));
  w.PutString(e.detail);
  return w.Release();
}

AuditHash ChainHash(const AuditHash& prev_hash, std::string_view body) {
  AuditHash out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, out.size());
  crypto_generichash_update(&st, prev_hash.data(), prev_hash.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

std::string EncodeAuditValue(const AuditHash& prev_hash, const AuditHash& hash,
                             std::string_view body) {
  RecordWriter w;
  w.PutRaw(prev_hash);
  w.PutRaw(hash);
  std::string out = w.Release();
  out.append(body);
  return out;
}

Result<AuditEntry> DecodeAuditValue(std::string_view value, std::string* body) {
  RecordReader in(value);
  AuditEntry e;
  if (!in.GetRaw(e.prev_hash) || !in.GetRaw(e.hash)) return Err(Malformed("an audit entry"));
  if (body) body->assign(in.rest());
  uint8_t version = 0, action = 0, outcome = 0;
  uint64_t project = 0;
  AuditEvent& ev = e.event;
  if (!in.GetU8(&version) || version != kVersion || !in.GetVarint(&e.seq) ||
      !in.GetSigned(&ev.time_ns) || !in.GetString(&ev.principal) || !in.GetString(&ev.address) ||
      !in.GetU8(&action) || action == 0 || action > kMaxAuditAction || !in.GetVarint(&project) ||
      project > uint64_t{UINT32_MAX} + 1 || !in.GetU8(&outcome) || outcome < 1 || outcome > 3 ||
      !in.GetString(&ev.detail) || !in.empty()) {
    return Err(Malformed("an audit entry"));
  }
  ev.action = static_cast<AuditAction>(action);
  ev.outcome = static_cast<AuditOutcome>(outcome);
  if (project) ev.project = static_cast<uint32_t>(project - 1);
  return e;
}

namespace {
// An anchor's bytes: the same fields in the anchor record and in the head (with its own version).
std::string EncodeAnchorFields(uint8_t version, const AuditAnchor& a) {
  RecordWriter w;
  w.PutU8(version);
  w.PutVarint(a.entries);
  w.PutBytes(a.hash);
  return w.Release();
}
}  // namespace

std::string EncodeAuditAnchor(const AuditAnchor& a) { return EncodeAnchorFields(kVersion, a); }

Result<AuditAnchor> DecodeAuditAnchor(std::string_view v) {
  RecordReader in(v);
  AuditAnchor a;
  uint8_t version = 0;
  if (!in.GetU8(&version) || version != kVersion || !in.GetVarint(&a.entries) ||
      !in.GetBytes(a.hash) || !in.empty()) {
    return Err(Malformed("the audit head record"));
  }
  return a;
}

std::string EncodeAuditHead(const AuditAnchor& a) {
  return EncodeAnchorFields(kAnchoredHeadVersion, a);
}

Result<AuditHead> DecodeAuditHead(std::string_view v) {
  RecordReader in(v);
  AuditHead h;
  uint8_t version = 0;
  if (!in.GetU8(&version) || (version != kVersion && version != kAnchoredHeadVersion) ||
      !in.GetVarint(&h.anchor.entries) || !in.GetBytes(h.anchor.hash) || !in.empty()) {
    return Err(Malformed("the audit head record"));
  }
  h.anchored = version == kAnchoredHeadVersion;
  return h;
}

std::string HashToHex(const AuditHash& h) {
  char hex[2 * sizeof(AuditHash) + 1];
  sodium_bin2hex(hex, sizeof hex, h.data(), h.size());
  return std::string(hex, 2 * sizeof(AuditHash));
}

}  // namespace sensordb
