// FirmwareStore: what the server keeps of a project's firmware (docs/OTA.md, "Storage on the
// server"): its trust roots, its freshness key and its releases — a signed manifest and its
// image. All of it is sealed under the project's data key by the engine (roots and the
// freshness key as project secrets, each image as a project file whose metadata is its signed
// manifest), so it is encrypted at rest, in backups, and shredded with the project. It holds no
// release key: it checks what the release managers signed, exactly as a device would, and signs
// only freshness statements. Built on the engine's public API and the agent's codec.
// Thread-safe as the DB is; changes to one project's roots are serialised by a mutex.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "firmware/release_key.h"
#include "sensordb/clock.h"
#include "sensordb/db.h"

namespace sensordb::firmware {

// One stored release.
struct Release {
  uint64_t id = 0;                // its image's project file id
  bool complete = false;          // false: an upload that never finished (nothing else is set)
  std::vector<uint8_t> manifest;  // the signed manifest file as uploaded
  std::array<uint8_t, 32> manifest_sha256{};  // of the manifest's body: what offers name
  std::string hardware_model;
  std::string version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
  uint64_t image_length = 0;
  int64_t expires_unix_s = 0;
  int64_t uploaded_unix_s = 0;
};

// A rollout (docs/OTA.md "Rollouts"): one release offered to a list of devices, in waves.
// Running: the open waves' devices are offered the release and may read it; paused: nothing is
// offered or readable until an operator resumes; halted: as paused, set by the server when a
// wave's failures pass the threshold; cancelled: final.
enum class RolloutState : uint8_t { kRunning = 1, kPaused = 2, kCancelled = 3, kHalted = 4 };
std::string_view RolloutStateName(RolloutState s);

// How a rollout widens and when it stops by itself (docs/OTA.md "Rollouts, waves and automatic
// halt").
struct RolloutPlan {
  // Cumulative percentages of the devices, strictly increasing, the last 100 (1 .. kMaxWaves).
  std::vector<uint8_t> waves{100};
  // A wave halts the rollout when more than this percentage of its devices report `failed` or
  // `rolled-back` (0: any failure; 100: never).
  uint8_t failure_percent = 5;
  // Seconds each wave runs before the next opens (0: all open at once); at most 7 days.
  uint32_t soak_s = 600;
  // Not empty: the rollout targets every device of the project that reports this hardware
  // model (the release's), named by no list; each device's wave comes from a keyed hash of its
  // name, and a wave's threshold counts the devices that reported on the release.
  std::string model;
};
inline constexpr size_t kMaxWaves = 8;
inline constexpr uint32_t kMaxSoakSeconds = 7 * 24 * 3600;
// Ok, or InvalidArgument saying what is wrong with the plan.
Status CheckPlan(const RolloutPlan& plan);
// Parses "1,10,50,100".
Result<std::vector<uint8_t>> ParseWaves(std::string_view text);
std::string WavesText(const std::vector<uint8_t>& waves);

struct Rollout {
  uint64_t id = 0;  // 1, 2, ... per project
  uint64_t release = 0;
  RolloutState state = RolloutState::kRunning;
  int64_t created_unix_s = 0;
  std::vector<std::string> devices;   // sorted, distinct; empty when the plan targets a model
  std::vector<uint8_t> device_waves;  // the wave of each device (0-based), by a keyed hash
  std::array<uint8_t, 16> wave_key{};  // a model target's: the key of its devices' wave hash
  RolloutPlan plan;
  // The wave open when the state last changed and when it opened (a resume restarts its soak);
  // while running, later waves open by time (OpenWave).
  uint32_t wave = 0;
  int64_t wave_opened_unix_s = 0;
  // Failures reported at or after this time count towards a halt (creation; a resume from
  // halted starts the count again).
  int64_t counted_since_unix_s = 0;
};
// The wave of `device` in `r`, or nullopt when `r` does not target it (a model target names
// every device).
std::optional<uint32_t> WaveOf(const Rollout& r, std::string_view device);
// The last wave open at `now` (every wave up to it is open).
uint32_t OpenWave(const Rollout& r, int64_t now_unix_s);
// When wave `w` (<= OpenWave) opened, or will open while the rollout runs.
int64_t WaveOpensAt(const Rollout& r, uint32_t w);

// The steps a device reports for an offered release (docs/OTA.md "Device reports").
enum class FirmwareStep : uint8_t {
  kOffered = 1,
  kDownloading = 2,
  kVerified = 3,
  kInstalled = 4,
  kConfirmed = 5,
  kRolledBack = 6,
  kFailed = 7,
};
inline constexpr uint8_t kMaxFirmwareStep = 7;
std::string_view FirmwareStepName(FirmwareStep s);
std::optional<FirmwareStep> ParseFirmwareStep(std::string_view name);
inline bool IsFailure(FirmwareStep s) {
  return s == FirmwareStep::kFailed || s == FirmwareStep::kRolledBack;
}
// A device's last report, as a rollout counts it.
struct StepReport {
  uint64_t release = 0;
  FirmwareStep step = FirmwareStep::kOffered;
  int64_t at_unix_s = 0;
};
using StepOf = std::function<std::optional<StepReport>(std::string_view device)>;
// Per wave of a rollout: its devices, and how many last reported each step for the rollout's
// release since the rollout counts (index: the step's number; 0: no report since). A model
// target's devices are those of `reporters` (the devices of the project that reported anything)
// that reported on its release since it was made.
struct WaveTally {
  uint32_t devices = 0;
  std::array<uint32_t, kMaxFirmwareStep + 1> steps{};
  uint32_t failures() const {
    return steps[uint8_t(FirmwareStep::kFailed)] + steps[uint8_t(FirmwareStep::kRolledBack)];
  }
};
std::vector<WaveTally> Tally(const Rollout& r, const StepOf& step_of,
                             std::span<const std::string> reporters);
// Whether a wave with this tally passes the rollout's failure threshold.
bool PastThreshold(const RolloutPlan& plan, const WaveTally& t);
// A rollout the server halted (HaltIfFailing): as stored, the wave (0-based) and its tally.
struct Halt {
  Rollout rollout;
  uint32_t wave = 0;
  WaveTally tally;
};

// A release's id as people and scripts see it: 16 lower-case hex digits, and back.
std::string ReleaseIdText(uint64_t id);
Result<uint64_t> ParseReleaseId(std::string_view text);

// Reads up to out.size() bytes of an image into `out`; returns how many (0 at the end).
using ImageSource = std::function<Result<size_t>(std::span<uint8_t> out)>;

// Devices one rollout names; all of a project's rollouts are one project secret of at most
// kMaxRolloutBytes (64 KiB less room for the envelope).
inline constexpr size_t kMaxRolloutDevices = 1024;
inline constexpr size_t kMaxRolloutBytes = 60 * 1024;
// Roots sent with one offer (protocol::kMaxFirmwareRoots): the oldest ones the device lacks.
inline constexpr size_t kMaxRootsPerOffer = 64;

class FirmwareStore {
 public:
  explicit FirmwareStore(DB& db, const Clock& clock = Clock::System()) : db_(db), clock_(clock) {}

  // The public half of the project's freshness key; the key is made on first use, its 32-byte
  // seed sealed as the project secret "firmware-freshness-key". Release managers put it in the
  // project's trust root (`sensordb firmware trust init --freshness-key`).
  // `created` (optional): set when this call made the key.
  Result<PublicKey> FreshnessKey(std::string_view project, bool* created = nullptr);

  // Adds the project's next trust root (the project must have its freshness key already). The
  // first the server gets must be signed by k of its own keys; each later one must be the next
  // version, signed by k of the current root's keys and k of its own. Refused: another project's
  // root, an expired one, one naming a freshness key that is not the project's. Returns the root's
  // version.
  Result<uint64_t> AddRoot(std::string_view project, std::span<const uint8_t> root_file);
  // The root files, oldest first; empty when the project has none.
  Result<std::vector<std::vector<uint8_t>>> Roots(std::string_view project);

  // Stores a release. The manifest must be valid against the project's current root as a device
  // holding it would find (project, root version, k signatures, not expired); the image read
  // from `source` must have the manifest's length and SHA-256. Otherwise nothing is kept. A
  // manifest stored already is AlreadyExists.
  Result<Release> AddRelease(std::string_view project, std::span<const uint8_t> manifest_file,
                             const ImageSource& source);
  // Every release, and every upload that never finished (complete = false), by id.
  Result<std::vector<Release>> Releases(std::string_view project);
  Result<Release> GetRelease(std::string_view project, uint64_t id);
  // Bytes [offset, offset + length) of a release's image, cut at its end.
  Status ReadImage(std::string_view project, uint64_t id, uint64_t offset, uint64_t length,
                   std::string* out);
  // Refused (FailedPrecondition) while a rollout not cancelled offers the release.
  Status DeleteRelease(std::string_view project, uint64_t id);

  // Starts offering the complete release `release` to `devices` (1 .. kMaxRolloutDevices
  // names), or with plan.model (the release's model) and no names to every device of that
  // model; refused when the release would not be answered for (incomplete, of an older root,
  // expired). Rollouts are the project secret "firmware-rollouts"; when a new one would not
  // fit in kMaxRolloutBytes, cancelled rollouts are dropped, oldest first (their ids in
  // `dropped`, for the audit entry), and if that is not enough the new one is refused
  // (ResourceExhausted).
  // Devices are spread over the plan's waves by a keyed hash (a random key per rollout; kept
  // only for a model target, whose waves are computed when asked): stable, and not predictable
  // from the names.
  Result<Rollout> CreateRollout(std::string_view project, uint64_t release,
                                std::vector<std::string> devices, const RolloutPlan& plan = {},
                                std::vector<uint64_t>* dropped = nullptr);
  Result<std::vector<Rollout>> Rollouts(std::string_view project);
  // Running <-> paused, halted -> running or paused; anything -> cancelled; a cancelled rollout
  // stays cancelled; only HaltIfFailing halts. Resuming checks the release again as
  // CreateRollout does and restarts the open wave's soak; leaving a halt starts the failure
  // count again.
  // `changed` (optional): set when the state was another one before.
  Result<Rollout> SetRolloutState(std::string_view project, uint64_t id, RolloutState state,
                                  bool* changed = nullptr);
  // After `device` reported a failure of `release`: halts each running rollout of that release
  // whose wave holding the device is past its failure threshold (steps read with `step_of`).
  // Returns what it halted, with the wave and tally that decided.
  Result<std::vector<Halt>> HaltIfFailing(std::string_view project, std::string_view device,
                                          uint64_t release, const StepOf& step_of,
                                          std::span<const std::string> reporters);
  // The release a device running (model, version, security_version) is offered: of the running
  // rollouts naming it in an open wave, the newest whose release is for `model`, not below
  // `security_version`, not the version it runs, and one Answer signs for (complete, of the current
  // root, unexpired; a rollout left behind by a root rotation or an expiry offers nothing).
  // nullopt: nothing to offer.
  Result<std::optional<Release>> OfferFor(std::string_view project, std::string_view device,
                                          std::string_view model, std::string_view version,
                                          uint64_t security_version);
  // Ok when a running rollout names `device` in an open wave with release `id` (whichever OfferFor
  // picks: the agent installs only the one its statement offers); otherwise NotFound, the same
  // answer as for a release that does not exist.
  Status CheckOffered(std::string_view project, std::string_view device, uint64_t id);
  // Ok when a rollout in any state names `device` with release `id` (what a device may report
  // about); otherwise NotFound as CheckOffered.
  Status CheckNamed(std::string_view project, std::string_view device, uint64_t id);
  // The stored root files whose version is above `version`, oldest first, at most
  // kMaxRootsPerOffer (a device further behind asks again after accepting them).
  Result<std::vector<std::vector<uint8_t>>> RootsAfter(std::string_view project, uint64_t version);

  // A freshness statement signed by the project's freshness key: the answer to `device`'s
  // request `nonce`, offering the stored release `offer` (by its manifest's hash) or, without
  // one, nothing. valid_for_s: 1 .. 3600. Signs nothing a device would refuse for the server's
  // sake: the release must be complete, of the current root, unexpired; the root unexpired and
  // naming the project's freshness key.
  Result<std::vector<uint8_t>> Answer(std::string_view project, std::string_view device,
                                      std::span<const uint8_t, 16> nonce,
                                      std::optional<uint64_t> offer, uint32_t valid_for_s);

 private:
  Result<Release> FromFile(const ProjectFileInfo& f);
  Result<std::vector<Rollout>> LoadRollouts(std::string_view project);
  // Ok when Answer would sign an offer of `rel` now (complete, of the current root, unexpired).
  Status Offerable(std::string_view project, const Release& rel);

  DB& db_;
  const Clock& clock_;
  // Process-wide, since every listener may hold a store on the same DB. AddRoot, AddRelease and
  // FreshnessKey: a root checked is the root when the result is stored.
  static inline std::mutex roots_mu_;
  // CreateRollout, SetRolloutState and DeleteRelease: a read-modify-write of the rollouts, and a
  // release checked is there when its rollout is stored.
  static inline std::mutex rollouts_mu_;
};

}  // namespace sensordb::firmware
