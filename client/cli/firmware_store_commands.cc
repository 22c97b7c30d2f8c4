// `sensordb firmware freshness-key | trust upload | upload | releases | remove | rollout`: the
// server's side of signed firmware (docs/OTA.md, "Storage on the server"), on a data directory
// through firmware::FirmwareStore or on a running server (--server) through the client library.
// Either way the store checks every root and manifest as a device would, and keeps images sealed
// under the project's key; the server also audits every change.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cli_common.h"
#include "connect.h"
#include "firmware/firmware_store.h"
#include "output.h"

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
  bool json = false;
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
                                                  const std::vector<std::string>& devices) = 0;
  virtual Result<firmware::Rollout> SetRolloutState(const std::string& project, uint64_t id,
                                                    firmware::RolloutState state) = 0;
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
                                          const std::vector<std::string>& devices) override {
    return store_.CreateRollout(project, release, devices);
  }
  Result<firmware::Rollout> SetRolloutState(const std::string& project, uint64_t id,
                                            firmware::RolloutState state) override {
    return store_.SetRolloutState(project, id, state);
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
  return {r.id, r.release, firmware::RolloutState(uint8_t(r.state)), r.created_unix_s, r.devices};
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
                                          const std::vector<std::string>& devices) override {
    SENSORDB_ASSIGN_OR_RETURN(const auto r, c_->CreateRollout(project, release, devices));
    return FromServer(r);
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

void PrintRollouts(const std::vector<firmware::Rollout>& all, bool json) {
  if (json) {
    std::string out = "[";
    for (size_t i = 0; i < all.size(); ++i) {
      const auto& r = all[i];
      std::string devices;
      for (size_t j = 0; j < r.devices.size(); ++j) {
        devices += (j ? ", " : "") + JsonString(PrintableText(r.devices[j]));
      }
      out += fmt::format(
          "{}{{\"id\": {}, \"release\": \"{}\", \"state\": \"{}\", \"created_unix_s\": {}, "
          "\"devices\": [{}]}}",
          i ? ", " : "", r.id, firmware::ReleaseIdText(r.release),
          firmware::RolloutStateName(r.state), r.created_unix_s, devices);
    }
    fmt::print("{}]\n", out);
    return;
  }
  fmt::print("{:>8}  {:<16}  {:<9} {:>8}  {}\n", "rollout", "release", "state", "devices",
             "first devices");
  for (const auto& r : all) {
    std::string first;
    for (size_t j = 0; j < r.devices.size() && j < 3; ++j) {
      first += (j ? ", " : "") + PrintableText(r.devices[j]);
    }
    if (r.devices.size() > 3) first += ", ...";
    fmt::print("{:>8}  {:<16}  {:<9} {:>8}  {}\n", r.id, firmware::ReleaseIdText(r.release),
               firmware::RolloutStateName(r.state), r.devices.size(), first);
  }
}

Status RunRolloutCreate(const GlobalArgs& global, const StoreArgs& a) {
  auto release = firmware::ParseReleaseId(a.id);
  if (!release) {
    return Status::InvalidArgument("release id '" + PrintableText(a.id) +
                                   "': " + release.error().message());
  }
  SENSORDB_ASSIGN_OR_RETURN(auto store, OpenBackend(global));
  SENSORDB_ASSIGN_OR_RETURN(const auto r, store->CreateRollout(a.project, *release, a.devices));
  fmt::print("rollout {} of release {} to {} device(s) of '{}': running\n", r.id,
             firmware::ReleaseIdText(r.release), r.devices.size(), a.project);
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

  CLI::App* rollout =
      fw->add_subcommand("rollout", "Offer a stored release to devices over their sessions");
  rollout->require_subcommand(1);
  CLI::App* create = Command(rollout, "create", "Offer a release to a list of devices", global,
                             action, args, RunRolloutCreate);
  create->add_option("id", args->id, "Release id (16 hex digits)")->required();
  create->add_option("--device,-d", args->devices, "Device to offer it to (repeat)")->required();
  CLI::App* rollouts =
      Command(rollout, "list", "List the project's rollouts", global, action, args, RunRolloutList);
  rollouts->add_flag("--json", args->json, "One JSON array");
  using firmware::RolloutState;
  for (const auto& [name, help, run] :
       {std::tuple{"pause", "Stop offering and serving a rollout's release until resumed",
                   &RunRolloutSet<RolloutState::kPaused>},
        std::tuple{"resume", "Offer a paused rollout's release again",
                   &RunRolloutSet<RolloutState::kRunning>},
        std::tuple{"cancel", "End a rollout for good (its release may then be removed)",
                   &RunRolloutSet<RolloutState::kCancelled>}}) {
    CLI::App* cmd = Command(rollout, name, help, global, action, args, run);
    cmd->add_option("rollout", args->id, "Rollout number")->required();
  }
}

}  // namespace sensordb::cli
