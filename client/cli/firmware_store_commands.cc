// `sensordb firmware freshness-key | trust upload | upload | releases | remove | rollout`: the
// server's side of signed firmware (docs/OTA.md, "Storage on the server"), on a data directory
// through firmware::FirmwareStore or on a running server (--server) through the client library.
// Either way the store checks every root and manifest as a device would, and keeps images sealed
// under the project's key; the server also audits every change.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cli_common.h"
#include "connect.h"
#include "firmware/firmware_store.h"
#include "output.h"
#include "time_util.h"

namespace sensordb::cli {
namespace {

using firmware::FirmwareStore;
using firmware::Hex;

struct StoreArgs {
  std::string project;
  std::string file;
  std::string image_file;
  std::string out_file;
  std::string id;
  std::vector<std::string> devices;
  std::string device;
  std::string waves = "100";
  int failure_percent = 5;
  std::string soak = "10m";
  std::string model;
  bool json = false;
};

// A device's last report, as both backends give it (the server's registry keeps them).
struct Report {
  std::string device;
  firmware::StepReport step;
  std::string reason;
  std::string version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
};

Result<std::vector<uint8_t>> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(Status::NotFound("cannot open " + path));
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Err(Status::IOError("cannot read " + path));
  return data;
}

// Where the commands act: a data directory through firmware::FirmwareStore, or a running
// sensordbd (--server) through the client library, which checks the same rules server-side
// and audits each change.
class Backend {
 public:
  virtual ~Backend() = default;
  // Before an image is read: whether a release of this size can be sent at all.
  virtual Status CheckImageSize(uint64_t image_bytes, size_t manifest_bytes) = 0;
  virtual Result<firmware::PublicKey> FreshnessKey(const std::string& project) = 0;
  virtual Result<uint64_t> AddRoot(const std::string& project, std::span<const uint8_t> root) = 0;
  virtual Result<firmware::Release> AddRelease(const std::string& project,
                                               std::span<const uint8_t> manifest,
                                               const std::string& image_file) = 0;
  virtual Result<std::vector<firmware::Release>> Releases(const std::string& project) = 0;
  virtual Result<std::vector<firmware::Rollout>> Rollouts(const std::string& project) = 0;
  virtual Status DeleteRelease(const std::string& project, uint64_t id) = 0;
  virtual Result<firmware::Rollout> CreateRollout(const std::string& project, uint64_t release,
                                                  const std::vector<std::string>& devices,
                                                  const firmware::RolloutPlan& plan) = 0;
  virtual Result<firmware::Rollout> SetRolloutState(const std::string& project, uint64_t id,
                                                    firmware::RolloutState state) = 0;
  // What the devices last reported, by device name (every device that reported, or one).
  virtual Result<std::vector<Report>> Reports(const std::string& project,
                                              const std::string& device) = 0;
};

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(std::unique_ptr<DB> db) : db_(std::move(db)), store_(*db_) {}
  Status CheckImageSize(uint64_t, size_t) override { return Status::Ok(); }  // streamed
  Result<firmware::PublicKey> FreshnessKey(const std::string& project) override {
    return store_.FreshnessKey(project);
  }
  Result<uint64_t> AddRoot(const std::string& project, std::span<const uint8_t> root) override {
    return store_.AddRoot(project, root);
  }
  Result<firmware::Release> AddRelease(const std::string& project,
                                       std::span<const uint8_t> manifest,
                                       const std::string& image_file) override {
    std::FILE* image = std::fopen(image_file.c_str(), "rb");
    if (image == nullptr) return Err(Status::NotFound("cannot open " + image_file));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(image, std::fclose);
    return store_.AddRelease(project, manifest, [&](std::span<uint8_t> out) -> Result<size_t> {
      const size_t n = std::fread(out.data(), 1, out.size(), image);
      if (n == 0 && std::ferror(image)) return Err(Status::IOError("cannot read " + image_file));
      return n;
    });
  }
  Result<std::vector<firmware::Release>> Releases(const std::string& project) override {
    return store_.Releases(project);
  }
  Result<std::vector<firmware::Rollout>> Rollouts(const std::string& project) override {
    return store_.Rollouts(project);
  }
  Status DeleteRelease(const std::string& project, uint64_t id) override {
    return store_.DeleteRelease(project, id);
  }
  Result<firmware::Rollout> CreateRollout(const std::string& project, uint64_t release,
                                          const std::vector<std::string>& devices,
                                          const firmware::RolloutPlan& plan) override {
    return store_.CreateRollout(project, release, devices, plan);
  }
  Result<firmware::Rollout> SetRolloutState(const std::string& project, uint64_t id,
                                            firmware::RolloutState state) override {
    return store_.SetRolloutState(project, id, state);
  }
  Result<std::vector<Report>> Reports(const std::string&, const std::string&) override {
    return Err(Status::FailedPrecondition(
        "device reports are kept by the running server's registry: use --server"));
  }

 private:
  std::unique_ptr<DB> db_;
  FirmwareStore store_;
};

firmware::Release FromServer(const client::FirmwareRelease& r) {
  firmware::Release out;
  out.id = r.id;
  out.complete = r.complete;
  out.manifest_sha256 = r.manifest_sha256;
  out.hardware_model = r.hardware_model;
  out.version = r.version;
  out.security_version = r.security_version;
  out.root_version = r.root_version;
  out.image_length = r.image_length;
  out.expires_unix_s = r.expires_unix_s;
  out.uploaded_unix_s = r.uploaded_unix_s;
  return out;
}

firmware::Rollout FromServer(const client::FirmwareRollout& r) {
  firmware::Rollout out;
  out.id = r.id;
  out.release = r.release;
  out.state = firmware::RolloutState(uint8_t(r.state));
  out.created_unix_s = r.created_unix_s;
  out.devices = r.devices;
  // The library's decoder checked the waves against the plan (ViewRollout). A server before
  // waves sends none: one wave that never halts, as it stored them.
  out.device_waves = r.device_waves;
  if (out.device_waves.size() != out.devices.size()) out.device_waves.assign(r.devices.size(), 0);
  out.plan = r.plan.waves.empty() ? firmware::RolloutPlan{{100}, 100, 0, {}}
                                  : firmware::RolloutPlan{r.plan.waves, r.plan.failure_percent,
                                                          r.plan.soak_s, r.plan.model};
  out.counted_since_unix_s = r.counted_since_unix_s;
  std::copy_n(r.wave_key.begin(), std::min(r.wave_key.size(), out.wave_key.size()),
              out.wave_key.begin());
  // The wave open when the server answered and when it opened: OpenWave agrees later on.
  out.wave = r.wave;
  out.wave_opened_unix_s = r.wave_opened_unix_s;
  return out;
}

class RemoteBackend : public Backend {
 public:
  explicit RemoteBackend(std::unique_ptr<client::Client> c) : c_(std::move(c)) {}
  Status CheckImageSize(uint64_t image_bytes, size_t manifest_bytes) override {
    // One frame carries manifest and image; 1 KiB covers the rest of the frame. The library
    // checks the exact frame again before it sends.
    const uint64_t limit = c_->async().session().max_frame_bytes;
    if (limit == 0 || image_bytes + manifest_bytes + 1024 <= limit) return Status::Ok();
    return Status::ResourceExhausted(
        "the release (" + std::to_string(image_bytes) +
        "-byte image) does not fit in one frame: the server accepts frames up to " +
        std::to_string(limit) + " bytes (its limits.max_frame_bytes); nothing was sent");
  }
  Result<firmware::PublicKey> FreshnessKey(const std::string& project) override {
    return c_->GetFreshnessKey(project);
  }
  Result<uint64_t> AddRoot(const std::string& project, std::span<const uint8_t> root) override {
    return c_->UploadFirmwareRoot(project, root);
  }
  Result<firmware::Release> AddRelease(const std::string& project,
                                       std::span<const uint8_t> manifest,
                                       const std::string& image_file) override {
    // One frame: the server's frame limit (limits.max_frame_bytes) bounds the image.
    SENSORDB_ASSIGN_OR_RETURN(const auto image, ReadWhole(image_file));
    SENSORDB_ASSIGN_OR_RETURN(const auto r, c_->UploadFirmware(project, manifest, image));
    return FromServer(r);
  }
  Result<std::vector<firmware::Release>> Releases(const std::string& project) override {
    SENSORDB_ASSIGN_OR_RETURN(const auto list, c_->ListFirmware(project));
    std::vector<firmware::Release> out;
    for (const auto& r : list.releases) out.push_back(FromServer(r));
    return out;
  }
  Result<std::vector<firmware::Rollout>> Rollouts(const std::string& project) override {
    SENSORDB_ASSIGN_OR_RETURN(const auto list, c_->ListFirmware(project));
    std::vector<firmware::Rollout> out;
    for (const auto& r : list.rollouts) out.push_back(FromServer(r));
    return out;
  }
  Status DeleteRelease(const std::string& project, uint64_t id) override {
    return c_->RemoveFirmware(project, id);
  }
  Result<firmware::Rollout> CreateRollout(const std::string& project, uint64_t release,
                                          const std::vector<std::string>& devices,
                                          const firmware::RolloutPlan& plan) override {
    SENSORDB_ASSIGN_OR_RETURN(const auto r, c_->CreateRollout(project, release, devices,
                                                              {plan.waves, plan.failure_percent,
                                                               plan.soak_s, plan.model}));
    return FromServer(r);
  }
  Result<std::vector<Report>> Reports(const std::string& project,
                                      const std::string& device) override {
    SENSORDB_ASSIGN_OR_RETURN(const auto list, c_->ListDeviceFirmware(project, device));
    std::vector<Report> out;
    for (const auto& d : list) {
      if (d.step < 1 || d.step > firmware::kMaxFirmwareStep) continue;  // a newer server's step
      out.push_back({d.device,
                     {d.release, firmware::FirmwareStep(d.step), d.reported_unix_s},
                     d.reason,
                     d.version,
                     d.security_version,
                     d.root_version});
    }
    return out;
  }
  Result<firmware::Rollout> SetRolloutState(const std::string& project, uint64_t id,
                                            firmware::RolloutState state) override {
    SENSORDB_ASSIGN_OR_RETURN(
        const auto r, c_->SetRolloutState(project, id, client::RolloutState(uint8_t(state))));
    return FromServer(r);
  }

 private:
  std::unique_ptr<client::Client> c_;
};

Result<std::unique_ptr<Backend>> OpenBackend(const GlobalArgs& global) {
  if (global.remote()) {
    SENSORDB_ASSIGN_OR_RETURN(auto c, ConnectServer(global));
    return std::unique_ptr<Backend>(std::make_unique<RemoteBackend>(std::move(c)));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(std::move(db)));
}

Status RunFreshnessKey(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const firmware::PublicKey pk, store->FreshnessKey(a.project));
  if (!a.out_file.empty()) return firmware::WritePublicKeyFile(a.out_file, pk);
  fmt::print("{}\n", Hex(pk));
  return Status::Ok();
}

Status RunTrustUpload(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const auto root, ReadWhole(a.file));
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  auto version = store->AddRoot(a.project, root);
  if (!version) {
    const Status& e = version.error();
    return Status(e.code(), a.file + ": " + e.message());
  }
  fmt::print("root version {} of '{}' stored\n", *version, a.project);
  return Status::Ok();
}

Status RunUpload(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const auto manifest, ReadWhole(a.file));
  std::error_code ec;
  const uint64_t image_bytes = std::filesystem::file_size(a.image_file, ec);
  if (ec) return Status::NotFound("cannot open " + a.image_file + ": " + ec.message());
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_RETURN_IF_ERROR(store->CheckImageSize(image_bytes, manifest.size()));
  auto rel = store->AddRelease(a.project, manifest, a.image_file);
  if (!rel) {
    const Status& e = rel.error();
    return Status(e.code(), a.file + ": " + e.message() +
                                " (nothing was kept; `firmware releases` lists an incomplete "
                                "upload if its cleanup failed too)");
  }
  fmt::print("release {}: {} {} (security version {}), {} bytes, sealed in '{}'\n",
             firmware::ReleaseIdText(rel->id), PrintableText(rel->hardware_model),
             PrintableText(rel->version), rel->security_version, rel->image_length, a.project);
  return Status::Ok();
}

Status RunReleases(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const auto releases, store->Releases(a.project));
  if (a.json) {
    std::string out = "[";
    for (size_t i = 0; i < releases.size(); ++i) {
      const auto& r = releases[i];
      out +=
          fmt::format("{}{{\"id\": \"{}\", \"complete\": {}, \"uploaded_unix_s\": {}",
                      i ? ", " : "", firmware::ReleaseIdText(r.id), r.complete, r.uploaded_unix_s);
      if (r.complete) {
        out += fmt::format(
            ", \"hardware_model\": {}, \"version\": {}, \"security_version\": {}, "
            "\"root_version\": {}, \"image_length\": {}, \"expires_unix_s\": {}, "
            "\"manifest_sha256\": \"{}\"",
            JsonString(PrintableText(r.hardware_model)), JsonString(PrintableText(r.version)),
            r.security_version, r.root_version, r.image_length, r.expires_unix_s,
            Hex(r.manifest_sha256));
      }
      out += "}";
    }
    fmt::print("{}]\n", out);
    return Status::Ok();
  }
  fmt::print("{:<16}  {:<16} {:<12} {:>8} {:>5} {:>12}  {}\n", "release", "model", "version",
             "security", "root", "bytes", "state");
  for (const auto& r : releases) {
    if (!r.complete) {
      fmt::print("{:<16}  {:<16} {:<12} {:>8} {:>5} {:>12}  incomplete upload\n",
                 firmware::ReleaseIdText(r.id), "-", "-", "-", "-", "-");
      continue;
    }
    fmt::print("{:<16}  {:<16} {:<12} {:>8} {:>5} {:>12}  stored\n", firmware::ReleaseIdText(r.id),
               PrintableText(r.hardware_model), PrintableText(r.version), r.security_version,
               r.root_version, r.image_length);
  }
  return Status::Ok();
}

Status RunRemove(const GlobalArgs& global, const StoreArgs& a) {
  auto parsed = firmware::ParseReleaseId(a.id);
  if (!parsed) {
    return Status::InvalidArgument("release id '" + PrintableText(a.id) +
                                   "': " + parsed.error().message());
  }
  const uint64_t id = *parsed;
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_RETURN_IF_ERROR(store->DeleteRelease(a.project, id));
  fmt::print("release {} removed from '{}'\n", firmware::ReleaseIdText(id), a.project);
  return Status::Ok();
}

Result<uint64_t> RolloutId(const std::string& text) {
  uint64_t id = 0;
  const bool ok = !text.empty() && text.size() <= 19 &&
                  text.find_first_not_of("0123456789") == std::string::npos &&
                  (id = std::stoull(text)) > 0;
  if (!ok) {
    return Err(Status::InvalidArgument("rollout id '" + PrintableText(text) +
                                       "': a positive number, as `firmware rollout list` shows"));
  }
  return id;
}

// "3 device(s)" or "every device of model DL-200".
std::string TargetText(const firmware::Rollout& r) {
  if (!r.plan.model.empty()) return "every device of model " + PrintableText(r.plan.model);
  return std::to_string(r.devices.size()) + " device(s)";
}

// "2 of 4 (10 %)": the wave open at `now`, of how many, and its cumulative percentage.
std::string WaveText(const firmware::Rollout& r, int64_t now) {
  const uint32_t w = firmware::OpenWave(r, now);
  return fmt::format("{} of {} ({} %)", w + 1, r.plan.waves.size(), r.plan.waves[w]);
}

void PrintRollouts(const std::vector<firmware::Rollout>& all, bool json) {
  const int64_t now = NowNanos() / 1'000'000'000;
  if (json) {
    std::string out = "[";
    for (size_t i = 0; i < all.size(); ++i) {
      const auto& r = all[i];
      std::string devices;
      for (size_t j = 0; j < r.devices.size(); ++j) {
        devices += (j ? ", " : "") + JsonString(PrintableText(r.devices[j]));
      }
      const uint32_t w = firmware::OpenWave(r, now);
      out += fmt::format(
          "{}{{\"id\": {}, \"release\": \"{}\", \"state\": \"{}\", \"created_unix_s\": {}, "
          "\"waves\": [{}], \"failure_percent\": {}, \"soak_s\": {}, \"wave\": {}, "
          "\"wave_opened_unix_s\": {}, \"model\": {}, \"devices\": [{}]}}",
          i ? ", " : "", r.id, firmware::ReleaseIdText(r.release),
          firmware::RolloutStateName(r.state), r.created_unix_s, firmware::WavesText(r.plan.waves),
          r.plan.failure_percent, r.plan.soak_s, w + 1, firmware::WaveOpensAt(r, w),
          JsonString(PrintableText(r.plan.model)), devices);
    }
    fmt::print("{}]\n", out);
    return;
  }
  fmt::print("{:>8}  {:<16}  {:<9} {:>8}  {:<14}  {}\n", "rollout", "release", "state", "devices",
             "wave", "first devices");
  for (const auto& r : all) {
    std::string first =
        r.plan.model.empty() ? "" : "every device of model " + PrintableText(r.plan.model);
    for (size_t j = 0; j < r.devices.size() && j < 3; ++j) {
      first += (j ? ", " : "") + PrintableText(r.devices[j]);
    }
    if (r.devices.size() > 3) first += ", ...";
    fmt::print("{:>8}  {:<16}  {:<9} {:>8}  {:<14}  {}\n", r.id, firmware::ReleaseIdText(r.release),
               firmware::RolloutStateName(r.state), r.devices.size(), WaveText(r, now), first);
  }
}

Result<firmware::RolloutPlan> PlanOf(const StoreArgs& a) {
  firmware::RolloutPlan plan;
  SENSORDB_ASSIGN_OR_RETURN(plan.waves, firmware::ParseWaves(a.waves));
  if (a.failure_percent < 0 || a.failure_percent > 100) {
    return Err(Status::InvalidArgument("--failure-threshold is a percentage, 0 to 100, not " +
                                       std::to_string(a.failure_percent)));
  }
  plan.failure_percent = uint8_t(a.failure_percent);
  int64_t soak_ns = 0;  // "0": every wave opens at once
  if (a.soak != "0") {
    SENSORDB_ASSIGN_OR_RETURN(soak_ns, ParseDuration(a.soak));
  }
  // A bare number is nanoseconds to ParseDuration: "3600" would silently open every wave.
  if (soak_ns < 0 || (soak_ns > 0 && soak_ns < 1'000'000'000) ||
      soak_ns / 1'000'000'000 > firmware::kMaxSoakSeconds) {
    return Err(Status::InvalidArgument("--soak is 0 or 1s to 7d with a unit (e.g. 10m, 1h), not " +
                                       PrintableText(a.soak)));
  }
  plan.soak_s = uint32_t(soak_ns / 1'000'000'000);
  plan.model = a.model;
  if (a.model.empty() == a.devices.empty()) {
    return Err(Status::InvalidArgument(
        "name the devices (-d, repeated) or target every device of a model (--model), one of "
        "the two"));
  }
  SENSORDB_RETURN_IF_ERROR(firmware::CheckPlan(plan));
  return plan;
}

Status RunRolloutCreate(const GlobalArgs& global, const StoreArgs& a) {
  auto release = firmware::ParseReleaseId(a.id);
  if (!release) {
    return Status::InvalidArgument("release id '" + PrintableText(a.id) +
                                   "': " + release.error().message());
  }
  SENSORDB_ASSIGN_OR_RETURN(const auto plan, PlanOf(a));
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const auto r,
                            store->CreateRollout(a.project, *release, a.devices, plan));
  fmt::print(
      "rollout {} of release {} to {} of '{}': running, waves {} ({} s each), halts "
      "when more than {} % of a wave fail\n",
      r.id, firmware::ReleaseIdText(r.release), TargetText(r), a.project,
      firmware::WavesText(r.plan.waves), r.plan.soak_s, r.plan.failure_percent);
  return Status::Ok();
}

// `rollout status`: the plan, the open wave, and per wave what its devices last reported for
// the rollout's release (the server's registry keeps the reports: with --server).
Status RunRolloutStatus(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const uint64_t id, RolloutId(a.id));
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const auto all, store->Rollouts(a.project));
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& r) { return r.id == id; });
  if (it == all.end()) {
    return Status::NotFound("project '" + a.project + "' has no rollout " + std::to_string(id));
  }
  const firmware::Rollout& r = *it;
  auto reports = store->Reports(a.project, {});
  std::map<std::string, firmware::StepReport, std::less<>> by_device;
  std::vector<std::string> reporters;  // a model target's devices: those that reported
  if (reports) {
    for (const Report& rep : *reports) {
      by_device[rep.device] = rep.step;
      reporters.push_back(rep.device);
    }
  }
  const firmware::StepOf step_of = [&](std::string_view d) -> std::optional<firmware::StepReport> {
    auto f = by_device.find(d);
    if (f == by_device.end()) return std::nullopt;
    return f->second;
  };
  const auto tally = firmware::Tally(r, step_of, reporters);
  const int64_t now = NowNanos() / 1'000'000'000;
  const uint32_t open = firmware::OpenWave(r, now);
  using S = firmware::FirmwareStep;
  if (a.json) {
    std::string waves;
    for (size_t w = 0; w < tally.size(); ++w) {
      std::string steps;
      for (uint8_t st = 1; st <= firmware::kMaxFirmwareStep; ++st) {
        steps += fmt::format("{}\"{}\": {}", st > 1 ? ", " : "", firmware::FirmwareStepName(S(st)),
                             tally[w].steps[st]);
      }
      waves += fmt::format(
          "{}{{\"wave\": {}, \"percent\": {}, \"open\": {}, \"opens_unix_s\": {}, \"devices\": {}, "
          "\"no_report\": {}, {}, \"past_threshold\": {}}}",
          w ? ", " : "", w + 1, r.plan.waves[w], w <= open,
          w < open ? std::string("null") : std::to_string(firmware::WaveOpensAt(r, uint32_t(w))),
          tally[w].devices, tally[w].steps[0], steps, firmware::PastThreshold(r.plan, tally[w]));
    }
    fmt::print(
        "{{\"id\": {}, \"release\": \"{}\", \"state\": \"{}\", \"failure_percent\": {}, "
        "\"soak_s\": {}, \"reports\": {}, \"waves\": [{}]}}\n",
        r.id, firmware::ReleaseIdText(r.release), firmware::RolloutStateName(r.state),
        r.plan.failure_percent, r.plan.soak_s, reports.has_value(), waves);
    return Status::Ok();
  }
  fmt::print(
      "rollout {} of release {} to {} in '{}': {}, wave {}; halts when more than {} % of a wave "
      "fail; each wave soaks {} s{}\n",
      r.id, firmware::ReleaseIdText(r.release), TargetText(r), a.project,
      firmware::RolloutStateName(r.state), WaveText(r, now), r.plan.failure_percent, r.plan.soak_s,
      r.plan.model.empty() ? "" : " (a wave's devices: those that reported on the release)");
  if (!reports) fmt::print("(no device reports: {})\n", reports.error().message());
  fmt::print("{:>4} {:>4}  {:<24} {:>7} {:>9} {:>7} {:>11} {:>8} {:>9} {:>9} {:>6}\n", "wave", "%",
             "opens", "devices", "no-report", "offered", "downloading", "verified", "installed",
             "confirmed", "failed");
  for (size_t w = 0; w < tally.size(); ++w) {
    const auto& t = tally[w];
    // Only the open wave's opening is stored: earlier waves show "open".
    const std::string opens =
        w < open ? std::string("open")
                 : FormatRfc3339(firmware::WaveOpensAt(r, uint32_t(w)) * 1'000'000'000) +
                       (w == open ? "" : " *");
    fmt::print("{:>4} {:>4}  {:<24} {:>7} {:>9} {:>7} {:>11} {:>8} {:>9} {:>9} {:>6}{}\n", w + 1,
               r.plan.waves[w], opens, t.devices, t.steps[0], t.steps[uint8_t(S::kOffered)],
               t.steps[uint8_t(S::kDownloading)], t.steps[uint8_t(S::kVerified)],
               t.steps[uint8_t(S::kInstalled)], t.steps[uint8_t(S::kConfirmed)], t.failures(),
               firmware::PastThreshold(r.plan, t) ? "  past threshold" : "");
  }
  if (open + 1 < tally.size()) fmt::print("(* not open yet)\n");
  return Status::Ok();
}

// `firmware devices`: what each device last reported (the server's registry: with --server).
Status RunDevices(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const auto reports, store->Reports(a.project, a.device));
  if (a.json) {
    std::string out = "[";
    for (size_t i = 0; i < reports.size(); ++i) {
      const Report& r = reports[i];
      out += fmt::format(
          "{}{{\"device\": {}, \"release\": \"{}\", \"step\": \"{}\", \"reason\": {}, "
          "\"version\": {}, \"security_version\": {}, \"root_version\": {}, "
          "\"reported_unix_s\": {}}}",
          i ? ", " : "", JsonString(PrintableText(r.device)),
          firmware::ReleaseIdText(r.step.release), firmware::FirmwareStepName(r.step.step),
          JsonString(PrintableText(r.reason)), JsonString(PrintableText(r.version)),
          r.security_version, r.root_version, r.step.at_unix_s);
    }
    fmt::print("{}]\n", out);
    return Status::Ok();
  }
  fmt::print("{:<20} {:<16}  {:<11} {:<12} {:>8} {:>4}  {:<20}  {}\n", "device", "release", "step",
             "runs", "security", "root", "reported", "reason");
  for (const Report& r : reports) {
    fmt::print("{:<20} {:<16}  {:<11} {:<12} {:>8} {:>4}  {:<20}  {}\n", PrintableText(r.device),
               firmware::ReleaseIdText(r.step.release), firmware::FirmwareStepName(r.step.step),
               PrintableText(r.version), r.security_version, r.root_version,
               FormatRfc3339(r.step.at_unix_s * 1'000'000'000), PrintableText(r.reason));
  }
  return Status::Ok();
}

Status RunRolloutList(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const auto all, store->Rollouts(a.project));
  PrintRollouts(all, a.json);
  return Status::Ok();
}

template <firmware::RolloutState kState>
Status RunRolloutSet(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const uint64_t id, RolloutId(a.id));
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const auto r, store->SetRolloutState(a.project, id, kState));
  fmt::print("rollout {} of '{}': {}\n", r.id, a.project, firmware::RolloutStateName(r.state));
  return Status::Ok();
}

using RunFn = Status (*)(const GlobalArgs&, const StoreArgs&);

CLI::App* Command(CLI::App* parent, const char* name, const char* help, const GlobalArgs& global,
                  Action* action, std::shared_ptr<StoreArgs> args, RunFn run) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->callback([&global, action, args, run] {
    *action = [&global, args, run] { return run(global, *args); };
  });
  cmd->add_option("--project,-p", args->project, "Project")->required();
  return cmd;
}

}  // namespace

void AddFirmwareStoreCommands(CLI::App* fw, CLI::App* trust, const GlobalArgs& global,
                              Action* action) {
  auto args = std::make_shared<StoreArgs>();
  CLI::App* fresh = Command(fw, "freshness-key",
                            "Print (or write with -o) the project's freshness public key, made "
                            "on first use",
                            global, action, args, RunFreshnessKey);
  fresh->add_option("--out,-o", args->out_file, "Public key file to write (never overwritten)");

  CLI::App* upload_root = Command(trust, "upload",
                                  "Store the project's next trust root, checked as a device "
                                  "would",
                                  global, action, args, RunTrustUpload);
  upload_root->add_option("file", args->file, "Signed root file")->required();

  CLI::App* upload = Command(fw, "upload",
                             "Store a signed release: manifest and image, checked against the "
                             "project's root",
                             global, action, args, RunUpload);
  upload->add_option("--image", args->image_file, "Firmware image file")->required();
  upload->add_option("file", args->file, "Signed manifest file")->required();

  CLI::App* list = Command(fw, "releases", "List the project's stored releases", global, action,
                           args, RunReleases);
  list->add_flag("--json", args->json, "One JSON array");

  CLI::App* remove =
      Command(fw, "remove", "Delete a stored release", global, action, args, RunRemove);
  remove->add_option("id", args->id, "Release id (16 hex digits)")->required();

  CLI::App* devices =
      Command(fw, "devices", "What each device last reported of its firmware (--server)", global,
              action, args, RunDevices);
  devices->add_option("--device,-d", args->device, "Only this device");
  devices->add_flag("--json", args->json, "One JSON array");

  CLI::App* rollout =
      fw->add_subcommand("rollout", "Offer a stored release to devices over their sessions");
  rollout->require_subcommand(1);
  CLI::App* create = Command(rollout, "create",
                             "Offer a release to a list of devices or to every device of a model",
                             global, action, args, RunRolloutCreate);
  create->add_option("id", args->id, "Release id (16 hex digits)")->required();
  create->add_option("--device,-d", args->devices, "Device to offer it to (repeat)");
  create->add_option("--model", args->model,
                     "Offer it to every device of the project of this model (the release's) "
                     "instead of a list");
  create->add_option("--waves", args->waves,
                     "Cumulative percentages of the devices, e.g. 1,10,50,100 (default 100: one "
                     "wave)");
  create->add_option("--failure-threshold", args->failure_percent,
                     "Halt when more than this % of a wave fail or roll back (default 5)");
  create->add_option("--soak", args->soak,
                     "How long each wave runs before the next (default 10m; 0: all at once)");
  CLI::App* status =
      Command(rollout, "status", "A rollout's waves and what their devices reported (--server)",
              global, action, args, RunRolloutStatus);
  status->add_option("rollout", args->id, "Rollout number")->required();
  status->add_flag("--json", args->json, "One JSON object");
  CLI::App* rollouts =
      Command(rollout, "list", "List the project's rollouts", global, action, args, RunRolloutList);
  rollouts->add_flag("--json", args->json, "One JSON array");
  using firmware::RolloutState;
  for (const auto& [name, help, run] :
       {std::tuple{"pause", "Stop offering and serving a rollout's release until resumed",
                   &RunRolloutSet<RolloutState::kPaused>},
        std::tuple{"resume", "Offer a paused or halted rollout's release again",
                   &RunRolloutSet<RolloutState::kRunning>},
        std::tuple{"cancel", "End a rollout for good (its release may then be removed)",
                   &RunRolloutSet<RolloutState::kCancelled>}}) {
    CLI::App* cmd = Command(rollout, name, help, global, action, args, run);
    cmd->add_option("rollout", args->id, "Rollout number")->required();
  }
}

}  // namespace sensordb::cli
