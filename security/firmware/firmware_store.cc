#include "firmware/firmware_store.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "sensordb/coding.h"
#include "sensordb/ota.h"

namespace sensordb::firmware {
namespace {

constexpr char kRootsSecret[] = "firmware-roots";
constexpr char kFreshnessSecret[] = "firmware-freshness-key";
constexpr char kRolloutsSecret[] = "firmware-rollouts";
constexpr size_t kSeedBytes = crypto_sign_SEEDBYTES;
// A release's project file metadata: this tag, then the signed manifest as uploaded (other
// project files, should the project hold any, are not releases).
constexpr std::string_view kReleaseTag = "sensordb-release-1\n";

Status Refused(const std::string& what, sdb_ota_result r) {
  return Status::InvalidArgument(what + ": " + sdb_ota_result_name(r));
}

Result<sdb_ota_signed> Open(std::span<const uint8_t> file, const char* what) {
  sdb_ota_signed s;
  if (const sdb_ota_result r = sdb_ota_open_signed(file.data(), file.size(), &s); r != SDB_OTA_OK) {
    return Err(Refused(std::string(what) + " is not signed firmware metadata", r));
  }
  return s;
}

Result<sdb_ota_root> DecodeRoot(const sdb_ota_signed& s, const char* what) {
  sdb_ota_root r;
  if (const sdb_ota_result e = sdb_ota_decode_root(s.body, s.body_len, &r); e != SDB_OTA_OK) {
    return Err(Refused(std::string(what) + " is not a trust root", e));
  }
  return r;
}

// Wipes and frees a secret seed or key held in libsodium's guarded memory.
struct Guarded {
  explicit Guarded(size_t n) : p(static_cast<uint8_t*>(sodium_malloc(n))) {}
  ~Guarded() { sodium_free(p); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  uint8_t* p;
};

// Calls fn with the project's freshness signing key (64 bytes, libsodium's layout) and its
// public key. With `make`, a project without one gets one first (the caller holds the store's
// mutex); without, that is FailedPrecondition: a key made anywhere else than by FreshnessKey
// would be one no root names.
Status WithFreshnessKey(DB& db, std::string_view project, bool make,
                        const std::function<void(const uint8_t* sk, const PublicKey&)>& fn,
                        bool* created = nullptr) {
  SENSORDB_RETURN_IF_ERROR(InitCrypto());
  Guarded seed(kSeedBytes), sk(crypto_sign_SECRETKEYBYTES);
  if (seed.p == nullptr || sk.p == nullptr) return Status::Internal("out of locked memory");
  SENSORDB_ASSIGN_OR_RETURN(auto stored, db.GetProjectSecret(project, kFreshnessSecret));
  if (stored) {
    const bool ok = stored->size() == kSeedBytes;
    if (ok) std::memcpy(seed.p, stored->data(), kSeedBytes);
    sodium_memzero(stored->data(), stored->size());
    if (!ok) {
      return Status::Corruption("project '" + std::string(project) +
                                "': the freshness key secret has the wrong size");
    }
  } else if (!make) {
    return Status::FailedPrecondition("project '" + std::string(project) +
                                      "' has no freshness key yet (sensordb firmware "
                                      "freshness-key makes it)");
  } else {
    randombytes_buf(seed.p, kSeedBytes);
    std::string value(reinterpret_cast<const char*>(seed.p), kSeedBytes);
    Status s = db.PutProjectSecret(project, kFreshnessSecret, value);
    sodium_memzero(value.data(), value.size());
    SENSORDB_RETURN_IF_ERROR(s);
    if (created != nullptr) *created = true;
  }
  PublicKey pk;
  crypto_sign_seed_keypair(pk.data(), sk.p, seed.p);
  fn(sk.p, pk);
  return Status::Ok();
}

Result<std::vector<std::vector<uint8_t>>> ParseRoots(std::string_view value,
                                                     std::string_view project) {
  std::vector<std::vector<uint8_t>> roots;
  while (!value.empty()) {
    std::string_view one;
    if (!GetLengthPrefixed(&value, &one)) {
      return Err(Status::Corruption("project '" + std::string(project) +
                                    "': the stored trust roots are malformed"));
    }
    roots.emplace_back(one.begin(), one.end());
  }
  return roots;
}

// The agent's rule for text in statements: 1..max bytes, no control byte (a NUL would name
// another device once copied into the C string).
bool TextOk(std::string_view t, size_t max) {
  return !t.empty() && t.size() <= max &&
         std::none_of(t.begin(), t.end(), [](char c) { return uint8_t(c) < 0x20 || c == 0x7f; });
}

// Rollouts as stored: per rollout id, release, state, created (fixed64 BE, state one byte),
// the device count (varint) and each name length-prefixed.
std::string EncodeRollouts(const std::vector<Rollout>& all) {
  std::string out;
  for (const Rollout& r : all) {
    PutFixed64BE(&out, r.id);
    PutFixed64BE(&out, r.release);
    out.push_back(char(r.state));
    PutFixed64BE(&out, uint64_t(r.created_unix_s));
    PutVarint64(&out, r.devices.size());
    for (const auto& d : r.devices) PutLengthPrefixed(&out, d);
  }
  return out;
}

Result<std::vector<Rollout>> DecodeRollouts(std::string_view in, std::string_view project) {
  const auto bad = [&] {
    return Err(Status::Corruption("project '" + std::string(project) +
                                  "': the stored firmware rollouts are malformed"));
  };
  std::vector<Rollout> all;
  while (!in.empty()) {
    Rollout r;
    uint64_t created = 0, count = 0;
    if (!GetFixed64BE(&in, &r.id) || !GetFixed64BE(&in, &r.release) || in.empty()) return bad();
    const uint8_t state = uint8_t(in[0]);
    in.remove_prefix(1);
    if (state < 1 || state > 3) return bad();
    r.state = RolloutState(state);
    if (!GetFixed64BE(&in, &created) || !GetVarint64(&in, &count) || count > kMaxRolloutDevices) {
      return bad();
    }
    r.created_unix_s = int64_t(created);
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view d;
      if (!GetLengthPrefixed(&in, &d)) return bad();
      r.devices.emplace_back(d);
    }
    all.push_back(std::move(r));
  }
  return all;
}

bool Names(const Rollout& r, std::string_view device) {
  return std::binary_search(r.devices.begin(), r.devices.end(), device);
}

// The newest of a project's stored roots (Roots()), decoded; FailedPrecondition when it has none.
Result<sdb_ota_root> NewestRoot(const Result<std::vector<std::vector<uint8_t>>>& stored,
                                std::string_view project) {
  SENSORDB_RETURN_IF_ERROR(stored);
  const auto& roots = *stored;
  if (roots.empty()) {
    return Err(Status::FailedPrecondition(
        "project '" + std::string(project) +
        "' has no firmware trust root yet: upload one first (sensordb firmware trust upload)"));
  }
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_signed rs, Open(roots.back(), "the stored root"));
  return DecodeRoot(rs, "the stored root");
}

// Ok when an offer of `rel` may be signed under `root` at `now`: complete, of that root,
// unexpired (what Answer, OfferFor, CreateRollout and a resume all check).
Status CheckOffer(const Release& rel, const sdb_ota_root& root, int64_t now) {
  if (!rel.complete) {
    return Status::FailedPrecondition("release " + ReleaseIdText(rel.id) + " is incomplete");
  }
  if (rel.root_version != root.version) {
    return Status::FailedPrecondition(
        "release " + ReleaseIdText(rel.id) + " is signed under root version " +
        std::to_string(rel.root_version) + ", the project's is " + std::to_string(root.version) +
        " (" + sdb_ota_result_name(SDB_OTA_WRONG_ROOT) + ")");
  }
  if (rel.expires_unix_s <= now) {
    return Status::FailedPrecondition("release " + ReleaseIdText(rel.id) + " has expired (" +
                                      sdb_ota_result_name(SDB_OTA_EXPIRED) + ")");
  }
  return Status::Ok();
}

}  // namespace

std::string_view RolloutStateName(RolloutState s) {
  switch (s) {
    case RolloutState::kRunning:
      return "running";
    case RolloutState::kPaused:
      return "paused";
    case RolloutState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string ReleaseIdText(uint64_t id) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4) s[size_t(i)] = digits[id & 15];
  return s;
}

Result<uint64_t> ParseReleaseId(std::string_view text) {
  uint64_t id = 0;
  for (const char c : text) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) break;
    id = id << 4 | uint64_t(d);
  }
  const bool ok = text.size() == 16 && ReleaseIdText(id) == text;
  if (!ok) return Err(Status::InvalidArgument("a release id is 16 lower-case hex digits"));
  return id;
}

Result<PublicKey> FirmwareStore::FreshnessKey(std::string_view project, bool* created) {
  std::lock_guard lock(roots_mu_);
  PublicKey out{};
  if (created != nullptr) *created = false;
  SENSORDB_RETURN_IF_ERROR(WithFreshnessKey(
      db_, project, /*make=*/true, [&](const uint8_t*, const PublicKey& pk) { out = pk; },
      created));
  return out;
}

Result<std::vector<std::vector<uint8_t>>> FirmwareStore::Roots(std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(auto stored, db_.GetProjectSecret(project, kRootsSecret));
  if (!stored) return std::vector<std::vector<uint8_t>>{};
  return ParseRoots(*stored, project);
}

Result<uint64_t> FirmwareStore::AddRoot(std::string_view project,
                                        std::span<const uint8_t> root_file) {
  SENSORDB_RETURN_IF_ERROR(InitCrypto());
  std::lock_guard lock(roots_mu_);
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_signed s, Open(root_file, "the root"));
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root r, DecodeRoot(s, "the file"));
  if (r.project != project) {
    return Err(Status::InvalidArgument(std::string("the root is for project '") + r.project +
                                       "', not '" + std::string(project) + "'"));
  }
  const int64_t now = clock_.NowUnixNs() / kNanosPerSecond;
  if (r.expires_unix_s <= now)
    return Err(Refused("root version " + std::to_string(r.version), SDB_OTA_EXPIRED));
  PublicKey fresh{};
  SENSORDB_RETURN_IF_ERROR(WithFreshnessKey(
      db_, project, /*make=*/false, [&](const uint8_t*, const PublicKey& pk) { fresh = pk; }));
  if (std::memcmp(fresh.data(), r.freshness_key, fresh.size()) != 0) {
    return Err(Status::InvalidArgument(
        "the root names freshness key " + Hex({r.freshness_key, sizeof r.freshness_key}) +
        ", but the server's for project '" + std::string(project) + "' is " + Hex(fresh) +
        " (sensordb firmware freshness-key): devices would refuse every answer"));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto roots, Roots(project));
  if (roots.empty()) {
    if (const sdb_ota_result e = sdb_ota_check_threshold(&r, &s); e != SDB_OTA_OK) {
      return Err(Refused("root version " + std::to_string(r.version) + " is not signed by " +
                             std::to_string(r.threshold) + " of its own keys",
                         e));
    }
  } else {
    SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_signed cs, Open(roots.back(), "the stored root"));
    SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root cur, DecodeRoot(cs, "the stored root"));
    if (r.version == cur.version &&
        std::equal(root_file.begin(), root_file.end(), roots.back().begin(), roots.back().end())) {
      return Err(Status::AlreadyExists("root version " + std::to_string(r.version) +
                                       " is the project's current root already"));
    }
    if (r.version != cur.version + 1) {
      return Err(
          Status::InvalidArgument("the root is version " + std::to_string(r.version) +
                                  "; the project holds version " + std::to_string(cur.version) +
                                  " and accepts only version " + std::to_string(cur.version + 1)));
    }
    if (const sdb_ota_result e = sdb_ota_check_threshold(&cur, &s); e != SDB_OTA_OK) {
      return Err(Refused("root version " + std::to_string(r.version) + ": signatures of " +
                             std::to_string(cur.threshold) + " keys of version " +
                             std::to_string(cur.version),
                         e));
    }
    if (const sdb_ota_result e = sdb_ota_check_threshold(&r, &s); e != SDB_OTA_OK) {
      return Err(Refused("root version " + std::to_string(r.version) + ": signatures of " +
                             std::to_string(r.threshold) + " of its own keys",
                         e));
    }
  }
  roots.emplace_back(root_file.begin(), root_file.end());
  std::string value;
  for (const auto& one : roots) {
    PutLengthPrefixed(&value, {reinterpret_cast<const char*>(one.data()), one.size()});
  }
  SENSORDB_RETURN_IF_ERROR(db_.PutProjectSecret(project, kRootsSecret, value));
  return r.version;
}

Result<Release> FirmwareStore::FromFile(const ProjectFileInfo& f) {
  Release rel;
  rel.id = f.id;
  rel.complete = f.complete;
  rel.uploaded_unix_s = f.created_unix_s;
  if (!f.complete) return rel;
  if (!std::string_view(f.metadata).starts_with(kReleaseTag)) {
    return Err(Status::NotFound("project file " + ReleaseIdText(f.id) + " is not a release"));
  }
  const std::span<const uint8_t> file(
      reinterpret_cast<const uint8_t*>(f.metadata.data()) + kReleaseTag.size(),
      f.metadata.size() - kReleaseTag.size());
  sdb_ota_signed s;
  sdb_ota_manifest m;
  if (sdb_ota_open_signed(file.data(), file.size(), &s) != SDB_OTA_OK ||
      sdb_ota_decode_manifest(s.body, s.body_len, &m) != SDB_OTA_OK) {
    return Err(Status::Corruption("release " + ReleaseIdText(f.id) +
                                  ": its stored manifest does not "
                                  "decode"));
  }
  rel.manifest.assign(file.begin(), file.end());
  crypto_hash_sha256(rel.manifest_sha256.data(), s.body, s.body_len);
  rel.hardware_model = m.hardware_model;
  rel.version = m.version;
  rel.security_version = m.security_version;
  rel.root_version = m.root_version;
  rel.image_length = m.image_length;
  rel.expires_unix_s = m.expires_unix_s;
  return rel;
}

Result<Release> FirmwareStore::AddRelease(std::string_view project,
                                          std::span<const uint8_t> manifest_file,
                                          const ImageSource& source) {
  SENSORDB_RETURN_IF_ERROR(InitCrypto());
  std::lock_guard lock(roots_mu_);  // the root checked is the root when it is stored
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_signed s, Open(manifest_file, "the manifest"));
  sdb_ota_manifest m;
  if (const sdb_ota_result e = sdb_ota_decode_manifest(s.body, s.body_len, &m); e != SDB_OTA_OK) {
    return Err(Refused("the file is not a manifest", e));
  }
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root root, NewestRoot(Roots(project), project));
  if (m.project != project) return Err(Refused("the manifest", SDB_OTA_WRONG_PROJECT));
  if (m.root_version != root.version) {
    return Err(Refused("the manifest is signed for root version " + std::to_string(m.root_version) +
                           "; the project's is " + std::to_string(root.version),
                       SDB_OTA_WRONG_ROOT));
  }
  if (const sdb_ota_result e = sdb_ota_check_threshold(&root, &s); e != SDB_OTA_OK) {
    return Err(Refused("the manifest: signatures of " + std::to_string(root.threshold) +
                           " keys of root version " + std::to_string(root.version),
                       e));
  }
  const int64_t now = clock_.NowUnixNs() / kNanosPerSecond;
  if (m.expires_unix_s <= now) return Err(Refused("the manifest", SDB_OTA_EXPIRED));
  if (root.expires_unix_s <= now) {
    return Err(Refused("root version " + std::to_string(root.version), SDB_OTA_EXPIRED));
  }
  if (m.image_length > kMaxProjectFileBytes) {
    return Err(Status::InvalidArgument(
        "the manifest's image has " + std::to_string(m.image_length) +
        " bytes; the server keeps images of at most " + std::to_string(kMaxProjectFileBytes)));
  }
  std::array<uint8_t, 32> body_hash{};
  crypto_hash_sha256(body_hash.data(), s.body, s.body_len);
  SENSORDB_ASSIGN_OR_RETURN(const auto stored, Releases(project));
  for (const Release& r : stored) {
    if (r.complete && r.manifest_sha256 == body_hash) {
      return Err(Status::AlreadyExists("this manifest is stored already, as release " +
                                       ReleaseIdText(r.id)));
    }
  }

  SENSORDB_ASSIGN_OR_RETURN(auto writer, db_.CreateProjectFile(project));
  std::vector<uint8_t> buf(kProjectFileChunkBytes);
  for (;;) {
    SENSORDB_ASSIGN_OR_RETURN(const size_t n, source(buf));
    if (n == 0) break;
    if (n > buf.size()) return Err(Status::Internal("the image source overran its buffer"));
    if (writer->length() + n > m.image_length) {
      return Err(Refused(
          "the image is longer than the manifest's " + std::to_string(m.image_length) + " bytes",
          SDB_OTA_LENGTH_MISMATCH));
    }
    SENSORDB_RETURN_IF_ERROR(writer->Append({reinterpret_cast<const char*>(buf.data()), n}));
  }
  if (writer->length() != m.image_length) {
    return Err(Refused("the image has " + std::to_string(writer->length()) +
                           " bytes; the manifest says " + std::to_string(m.image_length),
                       SDB_OTA_LENGTH_MISMATCH));
  }
  if (std::memcmp(writer->sha256().data(), m.image_sha256, SDB_OTA_HASH_BYTES) != 0) {
    return Err(Refused("the image's SHA-256 is not the manifest's", SDB_OTA_HASH_MISMATCH));
  }
  std::string metadata(kReleaseTag);
  metadata.append(reinterpret_cast<const char*>(manifest_file.data()), manifest_file.size());
  SENSORDB_ASSIGN_OR_RETURN(const ProjectFileInfo info, writer->Commit(metadata));
  return FromFile(info);
}

Result<std::vector<Release>> FirmwareStore::Releases(std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(const auto files, db_.ListProjectFiles(project));
  std::vector<Release> out;
  out.reserve(files.size());
  for (const auto& f : files) {
    auto r = FromFile(f);
    if (!r && r.error().code() == StatusCode::kNotFound) continue;  // another kind of file
    if (!r) return Err(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

Result<Release> FirmwareStore::GetRelease(std::string_view project, uint64_t id) {
  SENSORDB_ASSIGN_OR_RETURN(const auto f, db_.GetProjectFile(project, id));
  return FromFile(f);
}

Status FirmwareStore::ReadImage(std::string_view project, uint64_t id, uint64_t offset,
                                uint64_t length, std::string* out) {
  return db_.ReadProjectFile(project, id, offset, length, out);
}

Status FirmwareStore::DeleteRelease(std::string_view project, uint64_t id) {
  std::lock_guard lock(rollouts_mu_);
  SENSORDB_ASSIGN_OR_RETURN(const auto all, LoadRollouts(project));
  for (const Rollout& r : all) {
    if (r.release == id && r.state != RolloutState::kCancelled) {
      return Status::FailedPrecondition(
          "release " + ReleaseIdText(id) + " is offered by rollout " + std::to_string(r.id) + " (" +
          std::string(RolloutStateName(r.state)) + "); cancel it first");
    }
  }
  return db_.DeleteProjectFile(project, id);
}

Result<std::vector<Rollout>> FirmwareStore::LoadRollouts(std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(auto stored, db_.GetProjectSecret(project, kRolloutsSecret));
  if (!stored) return std::vector<Rollout>{};
  return DecodeRollouts(*stored, project);
}

Result<std::vector<Rollout>> FirmwareStore::Rollouts(std::string_view project) {
  return LoadRollouts(project);
}

Status FirmwareStore::Offerable(std::string_view project, const Release& rel) {
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root root, NewestRoot(Roots(project), project));
  return CheckOffer(rel, root, clock_.NowUnixNs() / kNanosPerSecond);
}

Result<Rollout> FirmwareStore::CreateRollout(std::string_view project, uint64_t release,
                                             std::vector<std::string> devices,
                                             std::vector<uint64_t>* dropped) {
  std::sort(devices.begin(), devices.end());
  devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
  if (devices.empty() || devices.size() > kMaxRolloutDevices) {
    return Err(Status::InvalidArgument("a rollout names 1 to " +
                                       std::to_string(kMaxRolloutDevices) + " devices, not " +
                                       std::to_string(devices.size())));
  }
  for (const auto& d : devices) {
    if (!TextOk(d, SDB_OTA_MAX_DEVICE)) {
      return Err(
          Status::InvalidArgument("a device name is 1-255 bytes without control characters"));
    }
  }
  std::lock_guard lock(rollouts_mu_);  // before the check: a delete waits for the rollout
  // What Answer will check, checked now: a rollout nobody could be answered for is a mistake.
  SENSORDB_ASSIGN_OR_RETURN(const Release rel, GetRelease(project, release));
  SENSORDB_RETURN_IF_ERROR(Offerable(project, rel));
  SENSORDB_ASSIGN_OR_RETURN(auto all, LoadRollouts(project));
  Rollout r;
  r.id = all.empty() ? 1 : all.back().id + 1;
  r.release = release;
  r.created_unix_s = clock_.NowUnixNs() / kNanosPerSecond;
  r.devices = std::move(devices);
  all.push_back(r);
  std::string value = EncodeRollouts(all);
  // Cancelled rollouts are final and offer nothing: the oldest make room for a new one.
  std::vector<uint64_t> gone;
  for (auto it = all.begin(); value.size() > kMaxRolloutBytes && it != all.end();) {
    if (it->state == RolloutState::kCancelled) {
      gone.push_back(it->id);
      it = all.erase(it);
      value = EncodeRollouts(all);
    } else {
      ++it;
    }
  }
  if (value.size() > kMaxRolloutBytes) {
    return Err(Status::ResourceExhausted(
        "the project's rollouts would take " + std::to_string(value.size()) + " bytes; at most " +
        std::to_string(kMaxRolloutBytes) + " (cancel finished rollouts, or name fewer devices)"));
  }
  SENSORDB_RETURN_IF_ERROR(db_.PutProjectSecret(project, kRolloutsSecret, value));
  if (dropped != nullptr) *dropped = std::move(gone);
  return r;
}

Result<Rollout> FirmwareStore::SetRolloutState(std::string_view project, uint64_t id,
                                               RolloutState state, bool* changed) {
  std::lock_guard lock(rollouts_mu_);
  if (changed != nullptr) *changed = false;
  SENSORDB_ASSIGN_OR_RETURN(auto all, LoadRollouts(project));
  auto it = std::find_if(all.begin(), all.end(), [&](const Rollout& r) { return r.id == id; });
  if (it == all.end()) {
    return Err(Status::NotFound("project '" + std::string(project) + "' has no rollout " +
                                std::to_string(id)));
  }
  if (it->state == RolloutState::kCancelled && state != RolloutState::kCancelled) {
    return Err(Status::FailedPrecondition("rollout " + std::to_string(id) +
                                          " is cancelled; create a new one"));
  }
  if (it->state != state) {
    if (state == RolloutState::kRunning) {
      SENSORDB_ASSIGN_OR_RETURN(const Release rel, GetRelease(project, it->release));
      SENSORDB_RETURN_IF_ERROR(Offerable(project, rel));
    }
    it->state = state;
    SENSORDB_RETURN_IF_ERROR(db_.PutProjectSecret(project, kRolloutsSecret, EncodeRollouts(all)));
    if (changed != nullptr) *changed = true;
  }
  return *it;
}

Result<std::optional<Release>> FirmwareStore::OfferFor(std::string_view project,
                                                       std::string_view device,
                                                       std::string_view model,
                                                       std::string_view version,
                                                       uint64_t security_version) {
  SENSORDB_ASSIGN_OR_RETURN(const auto all, LoadRollouts(project));
  std::optional<sdb_ota_root> root;  // read once, for the first candidate
  const int64_t now = clock_.NowUnixNs() / kNanosPerSecond;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->state != RolloutState::kRunning || !Names(*it, device)) continue;
    auto rel = GetRelease(project, it->release);
    if (!rel && rel.error().code() == StatusCode::kNotFound) continue;
    if (!rel) return Err(rel.error());
    if (!rel->complete || rel->hardware_model != model ||
        rel->security_version < security_version || rel->version == version) {
      continue;
    }
    // Left behind by a root rotation or expired: offering it would refuse the device its
    // statement and the roots it needs; an older rollout or nothing is offered instead.
    if (!root) {
      SENSORDB_ASSIGN_OR_RETURN(root, NewestRoot(Roots(project), project));
    }
    if (!CheckOffer(*rel, *root, now).ok()) continue;
    return std::optional<Release>(std::move(*rel));
  }
  return std::optional<Release>();
}

Status FirmwareStore::CheckOffered(std::string_view project, std::string_view device, uint64_t id) {
  SENSORDB_ASSIGN_OR_RETURN(const auto all, LoadRollouts(project));
  for (const Rollout& r : all) {
    if (r.release == id && r.state == RolloutState::kRunning && Names(r, device)) {
      return Status::Ok();
    }
  }
  return Status::NotFound("firmware image " + ReleaseIdText(id) + " does not exist");
}

Result<std::vector<std::vector<uint8_t>>> FirmwareStore::RootsAfter(std::string_view project,
                                                                    uint64_t version) {
  SENSORDB_ASSIGN_OR_RETURN(auto roots, Roots(project));
  std::vector<std::vector<uint8_t>> out;
  for (auto& file : roots) {
    SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_signed s, Open(file, "a stored root"));
    SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root r, DecodeRoot(s, "a stored root"));
    if (r.version > version && out.size() < kMaxRootsPerOffer) out.push_back(std::move(file));
  }
  return out;
}

Result<std::vector<uint8_t>> FirmwareStore::Answer(std::string_view project,
                                                   std::string_view device,
                                                   std::span<const uint8_t, 16> nonce,
                                                   std::optional<uint64_t> offer,
                                                   uint32_t valid_for_s) {
  SENSORDB_RETURN_IF_ERROR(InitCrypto());
  if (!TextOk(project, SDB_OTA_MAX_NAME) || !TextOk(device, SDB_OTA_MAX_DEVICE)) {
    return Err(Status::InvalidArgument(
        "a freshness statement names a project of 1-64 and a device of 1-255 bytes without "
        "control characters"));
  }
  if (valid_for_s == 0 || valid_for_s > SDB_OTA_MAX_FRESHNESS_S) {
    return Err(Status::InvalidArgument("a freshness statement is valid for 1 to " +
                                       std::to_string(SDB_OTA_MAX_FRESHNESS_S) + " s, not " +
                                       std::to_string(valid_for_s)));
  }
  // What a device would check of the offer, checked before anything is signed: the root it
  // names is the project's current one, its key is ours, nothing has expired.
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root root, NewestRoot(Roots(project), project));
  const int64_t now = clock_.NowUnixNs() / kNanosPerSecond;
  if (root.expires_unix_s <= now) {
    return Err(Refused("root version " + std::to_string(root.version), SDB_OTA_EXPIRED));
  }
  sdb_ota_freshness f{};
  if (offer) {
    SENSORDB_ASSIGN_OR_RETURN(const Release rel, GetRelease(project, *offer));
    SENSORDB_RETURN_IF_ERROR(CheckOffer(rel, root, now));
    std::memcpy(f.manifest_sha256, rel.manifest_sha256.data(), SDB_OTA_HASH_BYTES);
    f.has_offer = 1;
  }
  std::memcpy(f.project, project.data(), project.size());
  std::memcpy(f.device, device.data(), device.size());
  std::memcpy(f.nonce, nonce.data(), nonce.size());
  f.server_unix_s = now;
  f.valid_for_s = valid_for_s;
  SignedFile file;
  file.body.resize(512 + SDB_OTA_MAX_NAME + SDB_OTA_MAX_DEVICE);
  size_t len = 0;
  if (const sdb_ota_result e =
          sdb_ota_encode_freshness(&f, file.body.data(), file.body.size(), &len);
      e != SDB_OTA_OK) {
    return Err(Refused("cannot make a freshness statement", e));
  }
  file.body.resize(len);
  bool ours = false;
  SENSORDB_RETURN_IF_ERROR(
      WithFreshnessKey(db_, project, /*make=*/false, [&](const uint8_t* sk, const PublicKey& pk) {
        ours = std::memcmp(pk.data(), root.freshness_key, pk.size()) == 0;
        if (!ours) return;
        Signature sig;
        crypto_sign_detached(sig.data(), nullptr, file.body.data(), file.body.size(), sk);
        file.signatures.emplace_back(KeyIdOf(pk), sig);
      }));
  if (!ours) {
    return Err(Status::FailedPrecondition(
        "the project's freshness key is not the one its current root names: devices would "
        "refuse the answer (nothing signed)"));
  }
  return EncodeSignedFile(file);
}

}  // namespace sensordb::firmware
