// `sensordb firmware freshness-key | trust upload | upload | releases | remove | rollout`: the
// server's side of signed firmware (docs/OTA.md, "Storage on the server") on a data directory,
// through firmware::FirmwareStore. The store checks every root and manifest as a device would, and
// keeps images sealed under the project's key.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cli_common.h"
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

// The store needs the engine's own records, which only a data directory gives today.
Result<std::unique_ptr<DB>> OpenStoreDb(const GlobalArgs& global) {
  if (global.remote()) {
    return Err(Status::NotSupported(
        "firmware storage commands work on a data directory (--data-dir); over the network "
        "(--server) they are not built yet (docs/OTA.md)"));
  }
  return OpenDb(global, /*create_if_missing=*/false);
}

Status RunFreshnessKey(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  SENSORDB_ASSIGN_OR_RETURN(const firmware::PublicKey pk, store.FreshnessKey(a.project));
  if (!a.out_file.empty()) return firmware::WritePublicKeyFile(a.out_file, pk);
  fmt::print("{}\n", Hex(pk));
  return Status::Ok();
}

Status RunTrustUpload(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const auto root, ReadWhole(a.file));
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  auto version = store.AddRoot(a.project, root);
  if (!version) {
    const Status& e = version.error();
    return Status(e.code(), a.file + ": " + e.message());
  }
  fmt::print("root version {} of '{}' stored\n", *version, a.project);
  return Status::Ok();
}

Status RunUpload(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const auto manifest, ReadWhole(a.file));
  std::FILE* image = std::fopen(a.image_file.c_str(), "rb");
  if (image == nullptr) return Status::NotFound("cannot open " + a.image_file);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(image, std::fclose);
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  auto rel = store.AddRelease(a.project, manifest, [&](std::span<uint8_t> out) -> Result<size_t> {
    const size_t n = std::fread(out.data(), 1, out.size(), image);
    if (n == 0 && std::ferror(image)) return Err(Status::IOError("cannot read " + a.image_file));
    return n;
  });
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
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  SENSORDB_ASSIGN_OR_RETURN(const auto releases, store.Releases(a.project));
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
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  SENSORDB_RETURN_IF_ERROR(store.DeleteRelease(a.project, id));
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
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  SENSORDB_ASSIGN_OR_RETURN(const auto r, store.CreateRollout(a.project, *release, a.devices));
  fmt::print("rollout {} of release {} to {} device(s) of '{}': running\n", r.id,
             firmware::ReleaseIdText(r.release), r.devices.size(), a.project);
  return Status::Ok();
}

Status RunRolloutList(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  SENSORDB_ASSIGN_OR_RETURN(const auto all, store.Rollouts(a.project));
  PrintRollouts(all, a.json);
  return Status::Ok();
}

template <firmware::RolloutState kState>
Status RunRolloutSet(const GlobalArgs& global, const StoreArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const uint64_t id, RolloutId(a.id));
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenStoreDb(global));
  FirmwareStore store(*db);
  SENSORDB_ASSIGN_OR_RETURN(const auto r, store.SetRolloutState(a.project, id, kState));
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
                            "on first use (data directory)",
                            global, action, args, RunFreshnessKey);
  fresh->add_option("--out,-o", args->out_file, "Public key file to write (never overwritten)");

  CLI::App* upload_root = Command(trust, "upload",
                                  "Store the project's next trust root, checked as a device "
                                  "would (data directory)",
                                  global, action, args, RunTrustUpload);
  upload_root->add_option("file", args->file, "Signed root file")->required();

  CLI::App* upload = Command(fw, "upload",
                             "Store a signed release: manifest and image, checked against the "
                             "project's root (data directory)",
                             global, action, args, RunUpload);
  upload->add_option("--image", args->image_file, "Firmware image file")->required();
  upload->add_option("file", args->file, "Signed manifest file")->required();

  CLI::App* list = Command(fw, "releases", "List the project's stored releases (data directory)",
                           global, action, args, RunReleases);
  list->add_flag("--json", args->json, "One JSON array");

  CLI::App* remove = Command(fw, "remove", "Delete a stored release (data directory)", global,
                             action, args, RunRemove);
  remove->add_option("id", args->id, "Release id (16 hex digits)")->required();

  CLI::App* rollout = fw->add_subcommand(
      "rollout", "Offer a stored release to devices over their sessions (data directory)");
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
