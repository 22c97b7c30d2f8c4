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

// Rollouts as stored (docs/OTA.md "Rollouts, waves and automatic halt"). Format 2: the byte 2, then
// per rollout its id, release (fixed64 BE), state (one byte), created (fixed64 BE), the plan (wave
// count and percentages, one byte each; failure percent, one byte; soak seconds, varint), the
// open wave (one byte), when it opened and since when failures count (fixed64 BE), the device
// count (varint) and each name length-prefixed followed by its wave (one byte). Format 3 (the
// byte 3), written when a rollout targets a model, adds before the device count the model
// (length-prefixed; empty for a list) and for a model its 16-byte wave key. The first
// format had no leading byte and no plan: its records start with an id's high byte, 0 for any
// id below 2^56, so the two cannot be taken for each other; its rollouts read as one wave that
// never halts, which is what they were.
constexpr char kRolloutsFormat2 = 2, kRolloutsFormat3 = 3;

std::string EncodeRollouts(const std::vector<Rollout>& all) {
  // Format 2 while no rollout targets a model: a server before model targets still reads it.
  const bool v3 =
      std::any_of(all.begin(), all.end(), [](const Rollout& r) { return !r.plan.model.empty(); });
  std::string out(1, v3 ? kRolloutsFormat3 : kRolloutsFormat2);
  for (const Rollout& r : all) {
    PutFixed64BE(&out, r.id);
    PutFixed64BE(&out, r.release);
    out.push_back(char(r.state));
    PutFixed64BE(&out, uint64_t(r.created_unix_s));
    out.push_back(char(r.plan.waves.size()));
    for (uint8_t w : r.plan.waves) out.push_back(char(w));
    out.push_back(char(r.plan.failure_percent));
    PutVarint64(&out, r.plan.soak_s);
    out.push_back(char(r.wave));
    PutFixed64BE(&out, uint64_t(r.wave_opened_unix_s));
    PutFixed64BE(&out, uint64_t(r.counted_since_unix_s));
    if (v3) {  // a model target (empty: a list) and its wave key
      PutLengthPrefixed(&out, r.plan.model);
      if (!r.plan.model.empty()) out.append(reinterpret_cast<const char*>(r.wave_key.data()), 16);
    }
    PutVarint64(&out, r.devices.size());
    for (size_t i = 0; i < r.devices.size(); ++i) {
      PutLengthPrefixed(&out, r.devices[i]);
      out.push_back(char(r.device_waves[i]));
    }
  }
  return out;
}

bool GetByte(std::string_view* in, uint8_t* b) {
  if (in->empty()) return false;
  *b = uint8_t((*in)[0]);
  in->remove_prefix(1);
  return true;
}

// Times a rollout stores: at most year 2255 (so that nanoseconds fit an int64 wherever they are
// printed), not negative.
constexpr uint64_t kMaxRolloutTime = 9'000'000'000;

Result<std::vector<Rollout>> DecodeRollouts(std::string_view in, std::string_view project) {
  const auto bad = [&] {
    return Err(Status::Corruption("project '" + std::string(project) +
                                  "': the stored firmware rollouts are malformed"));
  };
  if (in.empty()) return std::vector<Rollout>{};
  const bool v3 = in[0] == kRolloutsFormat3;
  const bool v2 = v3 || in[0] == kRolloutsFormat2;  // format 3 is 2 with a target
  if (v2) {
    in.remove_prefix(1);
  } else if (in[0] != 0) {
    return bad();  // no format this reader knows: a later one, or damage
  }
  std::vector<Rollout> all;
  while (!in.empty()) {
    Rollout r;
    uint64_t created = 0, count = 0;
    uint8_t state = 0;
    // The first format is told apart by each id's high byte being 0.
    if ((!v2 && in[0] != 0) || !GetFixed64BE(&in, &r.id) || r.id == 0 ||
        (!all.empty() && r.id <= all.back().id) || !GetFixed64BE(&in, &r.release) ||
        !GetByte(&in, &state) || state < 1 || state > (v2 ? 4 : 3) ||
        !GetFixed64BE(&in, &created) || created > kMaxRolloutTime) {
      return bad();
    }
    r.state = RolloutState(state);
    r.created_unix_s = int64_t(created);
    if (v2) {
      uint8_t n = 0, wave = 0;
      uint64_t soak = 0, opened = 0, since = 0;
      if (!GetByte(&in, &n) || n > kMaxWaves) return bad();
      r.plan.waves.resize(n);
      for (uint8_t& w : r.plan.waves) {
        if (!GetByte(&in, &w)) return bad();
      }
      if (!GetByte(&in, &r.plan.failure_percent) || !GetVarint64(&in, &soak) ||
          soak > kMaxSoakSeconds || !GetByte(&in, &wave) || wave >= n ||
          !GetFixed64BE(&in, &opened) || !GetFixed64BE(&in, &since) || opened > kMaxRolloutTime ||
          since > kMaxRolloutTime) {
        return bad();
      }
      r.plan.soak_s = uint32_t(soak);
      if (!CheckPlan(r.plan).ok()) return bad();
      r.wave = wave;
      r.wave_opened_unix_s = int64_t(opened);
      r.counted_since_unix_s = int64_t(since);
      std::string_view model;
      if (v3 && !GetLengthPrefixed(&in, &model)) return bad();
      if (!model.empty()) {
        if (!TextOk(model, SDB_OTA_MAX_NAME) || in.size() < r.wave_key.size()) return bad();
        r.plan.model = std::string(model);
        std::memcpy(r.wave_key.data(), in.data(), r.wave_key.size());
        in.remove_prefix(r.wave_key.size());
      }
    } else {
      r.plan = RolloutPlan{{100}, 100, 0, {}};
      r.wave_opened_unix_s = r.counted_since_unix_s = r.created_unix_s;
    }
    // A model target names no device; a list names at least one.
    if (!GetVarint64(&in, &count) || count > kMaxRolloutDevices ||
        (count == 0) != !r.plan.model.empty()) {
      return bad();
    }
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view d;
      uint8_t wave = 0;
      if (!GetLengthPrefixed(&in, &d) || (!r.devices.empty() && d <= r.devices.back()) ||
          (v2 && (!GetByte(&in, &wave) || wave >= r.plan.waves.size()))) {
        return bad();  // devices are stored sorted and distinct: lookups depend on it
      }
      r.devices.emplace_back(d);
      r.device_waves.push_back(wave);
    }
    all.push_back(std::move(r));
  }
  return all;
}

// Whether `r` offers its release to `device` at `now`: running, naming it in an open wave.
bool Offers(const Rollout& r, std::string_view device, int64_t now) {
  if (r.state != RolloutState::kRunning) return false;
  const auto w = WaveOf(r, device);
  return w && *w <= OpenWave(r, now);
}

// Before a running rollout stops: records the wave open at `now` and when it opened.
void FreezeWave(Rollout& r, int64_t now) {
  const uint32_t w = OpenWave(r, now);
  r.wave_opened_unix_s = WaveOpensAt(r, w);
  r.wave = w;
}

// Spreads `devices` over the plan's waves: ordered by a hash keyed with a fresh random key,
// the first ceil(n * p / 100) devices are in the waves up to the one of cumulative percentage p.
std::vector<uint8_t> AssignWaves(const std::vector<std::string>& devices, const RolloutPlan& plan) {
  std::array<uint8_t, crypto_shorthash_KEYBYTES> key;
  randombytes_buf(key.data(), key.size());
  std::vector<std::pair<uint64_t, size_t>> order;
  order.reserve(devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    uint64_t h = 0;
    crypto_shorthash(reinterpret_cast<uint8_t*>(&h),
                     reinterpret_cast<const uint8_t*>(devices[i].data()), devices[i].size(),
                     key.data());
    order.emplace_back(h, i);
  }
  sodium_memzero(key.data(), key.size());
  std::sort(order.begin(), order.end());
  std::vector<uint8_t> waves(devices.size(), 0);
  size_t rank = 0;
  for (size_t w = 0; w < plan.waves.size(); ++w) {
    const size_t end = (devices.size() * plan.waves[w] + 99) / 100;
    for (; rank < end && rank < order.size(); ++rank) waves[order[rank].second] = uint8_t(w);
  }
  return waves;
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
    case RolloutState::kHalted:
      return "halted";
  }
  return "unknown";
}

Status CheckPlan(const RolloutPlan& plan) {
  if (plan.waves.empty() || plan.waves.size() > kMaxWaves) {
    return Status::InvalidArgument("a rollout has 1 to " + std::to_string(kMaxWaves) +
                                   " waves, not " + std::to_string(plan.waves.size()));
  }
  for (size_t i = 0; i < plan.waves.size(); ++i) {
    if (plan.waves[i] < 1 || plan.waves[i] > 100 || (i > 0 && plan.waves[i] <= plan.waves[i - 1])) {
      return Status::InvalidArgument(
          "waves are cumulative percentages of the devices, rising, "
          "from 1 to 100 (e.g. 1,10,50,100), not " +
          WavesText(plan.waves));
    }
  }
  if (plan.waves.back() != 100) {
    return Status::InvalidArgument("the last wave is 100 (every device), not " +
                                   std::to_string(plan.waves.back()));
  }
  if (plan.failure_percent > 100) {
    return Status::InvalidArgument("the failure threshold is a percentage, 0 to 100, not " +
                                   std::to_string(plan.failure_percent));
  }
  if (plan.soak_s > kMaxSoakSeconds) {
    return Status::InvalidArgument("a wave's soak time is at most 7 days, not " +
                                   std::to_string(plan.soak_s) + " s");
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> ParseWaves(std::string_view text) {
  std::vector<uint8_t> out;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view one = text.substr(0, comma);
    uint32_t v = 0;
    if (one.empty() || one.size() > 3 ||
        !std::all_of(one.begin(), one.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Err(
          Status::InvalidArgument("waves are percentages separated by commas "
                                  "(e.g. 1,10,50,100), not '" +
                                  std::string(text) + "'"));
    }
    for (char c : one) v = v * 10 + uint32_t(c - '0');
    if (v > 255) v = 255;  // refused by CheckPlan with the list
    out.push_back(uint8_t(v));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string WavesText(const std::vector<uint8_t>& waves) {
  std::string out;
  for (uint8_t w : waves) out += (out.empty() ? "" : ",") + std::to_string(w);
  return out;
}

std::optional<uint32_t> WaveOf(const Rollout& r, std::string_view device) {
  if (!r.plan.model.empty()) {
    // A model target: the device's percentile by the rollout's keyed hash of its name.
    uint64_t h = 0;
    crypto_shorthash(reinterpret_cast<uint8_t*>(&h),
                     reinterpret_cast<const uint8_t*>(device.data()), device.size(),
                     r.wave_key.data());
    const uint64_t percentile = h % 100;
    for (size_t w = 0; w < r.plan.waves.size(); ++w) {
      if (percentile < r.plan.waves[w]) return uint32_t(w);
    }
    return uint32_t(r.plan.waves.size() - 1);
  }
  auto it = std::lower_bound(r.devices.begin(), r.devices.end(), device);
  if (it == r.devices.end() || *it != device) return std::nullopt;
  return r.device_waves[size_t(it - r.devices.begin())];
}

uint32_t OpenWave(const Rollout& r, int64_t now_unix_s) {
  const uint32_t last = uint32_t(r.plan.waves.size()) - 1;
  if (r.state != RolloutState::kRunning) return r.wave;
  if (r.plan.soak_s == 0) return last;
  const int64_t elapsed = std::max<int64_t>(0, now_unix_s - r.wave_opened_unix_s);
  return uint32_t(std::min<int64_t>(last, int64_t(r.wave) + elapsed / r.plan.soak_s));
}

int64_t WaveOpensAt(const Rollout& r, uint32_t w) {
  if (w <= r.wave) return r.wave_opened_unix_s;
  return r.wave_opened_unix_s + int64_t(w - r.wave) * r.plan.soak_s;
}

std::string_view FirmwareStepName(FirmwareStep s) {
  switch (s) {
    case FirmwareStep::kOffered:
      return "offered";
    case FirmwareStep::kDownloading:
      return "downloading";
    case FirmwareStep::kVerified:
      return "verified";
    case FirmwareStep::kInstalled:
      return "installed";
    case FirmwareStep::kConfirmed:
      return "confirmed";
    case FirmwareStep::kRolledBack:
      return "rolled-back";
    case FirmwareStep::kFailed:
      return "failed";
  }
  return "unknown";
}

std::optional<FirmwareStep> ParseFirmwareStep(std::string_view name) {
  for (uint8_t i = 1; i <= kMaxFirmwareStep; ++i) {
    if (FirmwareStepName(FirmwareStep(i)) == name) return FirmwareStep(i);
  }
  return std::nullopt;
}

std::vector<WaveTally> Tally(const Rollout& r, const StepOf& step_of,
                             std::span<const std::string> reporters) {
  std::vector<WaveTally> out(r.plan.waves.size());
  const auto counts = [&](const std::optional<StepReport>& rep) {
    return rep && rep->release == r.release && rep->at_unix_s >= r.counted_since_unix_s;
  };
  if (!r.plan.model.empty()) {
    // Its devices: those that reported on its release since it was made; their steps count
    // since it counts (after a resume, the earlier ones are "no report since", as in a list).
    for (const std::string& d : reporters) {
      const auto rep = step_of(d);
      if (!rep || rep->release != r.release || rep->at_unix_s < r.created_unix_s) continue;
      WaveTally& t = out[*WaveOf(r, d)];
      ++t.devices;
      ++t.steps[counts(rep) ? uint8_t(rep->step) : 0];
    }
    return out;
  }
  for (size_t i = 0; i < r.devices.size(); ++i) {
    WaveTally& t = out[r.device_waves[i]];
    ++t.devices;
    const auto rep = step_of(r.devices[i]);
    ++t.steps[counts(rep) ? uint8_t(rep->step) : 0];
  }
  return out;
}

bool PastThreshold(const RolloutPlan& plan, const WaveTally& t) {
  return t.failures() > 0 &&
         uint64_t(t.failures()) * 100 > uint64_t(plan.failure_percent) * t.devices;
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
                                             const RolloutPlan& plan,
                                             std::vector<uint64_t>* dropped) {
  SENSORDB_RETURN_IF_ERROR(CheckPlan(plan));
  std::sort(devices.begin(), devices.end());
  devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
  if (!plan.model.empty() && !devices.empty()) {
    return Err(Status::InvalidArgument("a rollout names devices or a model, not both"));
  }
  if (plan.model.empty() && (devices.empty() || devices.size() > kMaxRolloutDevices)) {
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
  if (!plan.model.empty() && plan.model != rel.hardware_model) {
    return Err(Status::InvalidArgument("release " + ReleaseIdText(release) + " is for model '" +
                                       rel.hardware_model + "', not '" + plan.model + "'"));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto all, LoadRollouts(project));
  Rollout r;
  r.id = all.empty() ? 1 : all.back().id + 1;
  r.release = release;
  r.created_unix_s = r.wave_opened_unix_s = r.counted_since_unix_s =
      clock_.NowUnixNs() / kNanosPerSecond;
  r.plan = plan;
  if (!plan.model.empty()) randombytes_buf(r.wave_key.data(), r.wave_key.size());
  r.device_waves = AssignWaves(devices, plan);
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
  if (state == RolloutState::kHalted && it->state != RolloutState::kHalted) {
    return Err(Status::InvalidArgument(
        "a rollout is halted by the server when a wave fails; pause it instead"));
  }
  if (it->state != state) {
    const int64_t now = clock_.NowUnixNs() / kNanosPerSecond;
    if (state == RolloutState::kRunning) {
      SENSORDB_ASSIGN_OR_RETURN(const Release rel, GetRelease(project, it->release));
      SENSORDB_RETURN_IF_ERROR(Offerable(project, rel));
      // The open wave runs its whole soak again.
      it->wave_opened_unix_s = now;
    } else if (it->state == RolloutState::kRunning) {
      FreezeWave(*it, now);
    }
    // Leaving a halt (to running, or to paused and later running): the failures that caused it
    // were dealt with; the count starts again, or the next failure would halt it at once.
    if (it->state == RolloutState::kHalted) it->counted_since_unix_s = now;
    it->state = state;
    SENSORDB_RETURN_IF_ERROR(db_.PutProjectSecret(project, kRolloutsSecret, EncodeRollouts(all)));
    if (changed != nullptr) *changed = true;
  }
  return *it;
}

namespace {

// The wave of `device` in `r` when it is past the threshold at `now`: its number and tally.
std::optional<std::pair<uint32_t, WaveTally>> FailingWave(const Rollout& r, std::string_view device,
                                                          uint64_t release, const StepOf& step_of,
                                                          std::span<const std::string> reporters,
                                                          int64_t now) {
  if (r.release != release || !Offers(r, device, now)) return std::nullopt;
  Rollout counted = r;
  // A clock stepped back must not switch the halt off until it catches up.
  counted.counted_since_unix_s = std::min(r.counted_since_unix_s, now);
  const uint32_t w = *WaveOf(r, device);
  const WaveTally t = Tally(counted, step_of, reporters)[w];
  if (!PastThreshold(r.plan, t)) return std::nullopt;
  return std::pair{w, t};
}

}  // namespace

Result<std::vector<Halt>> FirmwareStore::HaltIfFailing(std::string_view project,
                                                       std::string_view device, uint64_t release,
                                                       const StepOf& step_of,
                                                       std::span<const std::string> reporters) {
  const int64_t now = clock_.NowUnixNs() / kNanosPerSecond;
  {
    // Most failure reports halt nothing: decided without the lock, which only a halt needs.
    SENSORDB_ASSIGN_OR_RETURN(const auto all, LoadRollouts(project));
    if (std::none_of(all.begin(), all.end(), [&](const Rollout& r) {
          return FailingWave(r, device, release, step_of, reporters, now).has_value();
        })) {
      return std::vector<Halt>{};
    }
  }
  std::lock_guard lock(rollouts_mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto all, LoadRollouts(project));
  std::vector<Halt> halted;
  for (Rollout& r : all) {
    const auto failing = FailingWave(r, device, release, step_of, reporters, now);
    if (!failing) continue;
    FreezeWave(r, now);
    r.state = RolloutState::kHalted;
    halted.push_back({r, failing->first, failing->second});
  }
  if (!halted.empty()) {
    SENSORDB_RETURN_IF_ERROR(db_.PutProjectSecret(project, kRolloutsSecret, EncodeRollouts(all)));
  }
  return halted;
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
    if (!Offers(*it, device, now)) continue;
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
  const int64_t now = clock_.NowUnixNs() / kNanosPerSecond;
  for (const Rollout& r : all) {
    if (r.release == id && Offers(r, device, now)) {
      return Status::Ok();
    }
  }
  return Status::NotFound("firmware image " + ReleaseIdText(id) + " does not exist");
}

Status FirmwareStore::CheckNamed(std::string_view project, std::string_view device, uint64_t id) {
  SENSORDB_ASSIGN_OR_RETURN(const auto all, LoadRollouts(project));
  for (const Rollout& r : all) {
    if (r.release == id && WaveOf(r, device)) return Status::Ok();
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
