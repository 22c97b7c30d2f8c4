// `sensordb keygen FILE` and `sensordb key status|rotate-master|rotate-project|reencrypt`
// (docs/SECURITY.md). Secrets never reach the command line: passphrases come from the
// environment, keys from files. With --server, `key status` and `key rotate-project` go to the
// server (KeyStatus, RotateProjectKey); the others need the data directory.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>

#include "cli_common.h"
#include "connect.h"
#include "output.h"
#include "progress.h"

namespace sensordb::cli {
namespace {

constexpr const char* kNewPassphraseEnv = "SENSORDB_NEW_PASSPHRASE";

Status RunKeygen(const std::string& file) {
  SENSORDB_RETURN_IF_ERROR(CreateKeyFile(file));
  fmt::print("wrote a new master key to {} (mode 0600); keep it off the data disk\n", file);
  return Status::Ok();
}

Status RunStatus(const GlobalArgs& global, bool json) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const KeyStatusReport r, db->KeyStatus());
  if (json) {
    fmt::print("{{\"master_key_fingerprint\": \"{}\", \"kdf\": \"{}\", \"projects\": [",
               r.master_key_fingerprint, r.kdf);
    for (size_t i = 0; i < r.projects.size(); ++i) {
      const auto& p = r.projects[i];
      fmt::print("{}{{\"project\": {}, \"versions\": [", i ? ", " : "", JsonString(p.project));
      for (size_t j = 0; j < p.versions.size(); ++j) {
        const auto& v = p.versions[j];
        fmt::print(
            "{}{{\"version\": {}, \"active\": {}, \"created_unix_s\": {}, \"blocks\": {}, "
            "\"head_records\": {}, \"catalog_records\": {}, \"file_records\": {}, "
            "\"bytes\": {}}}",
            j ? ", " : "", v.version, v.active, v.created_unix_s, v.blocks, v.head_records,
            v.catalog_records, v.file_records, v.bytes);
      }
      fmt::print("]}}");
    }
    fmt::print("]}}\n");
    return Status::Ok();
  }
  fmt::print("master key  {} ({})\n", r.master_key_fingerprint, r.kdf);
  fmt::print("{:<24} {:>7} {:>6} {:>10} {:>8} {:>8} {:>8} {:>12}\n", "project", "version", "active",
             "blocks", "head", "catalog", "files", "bytes");
  for (const auto& p : r.projects) {
    for (const auto& v : p.versions) {
      fmt::print("{:<24} {:>7} {:>6} {:>10} {:>8} {:>8} {:>8} {:>12}\n", p.project, v.version,
                 v.active ? "yes" : "", v.blocks, v.head_records, v.catalog_records, v.file_records,
                 v.bytes);
    }
  }
  return Status::Ok();
}

Status RunRotateMaster(const GlobalArgs& global, const std::string& new_key_file) {
  KeySource next;
  if (!new_key_file.empty()) {
    next.key_file = new_key_file;
  } else if (const char* p = std::getenv(kNewPassphraseEnv); p && *p) {
    next.passphrase = p;
  } else {
    return Status::InvalidArgument(fmt::format(
        "give the new master key: --new-key-file FILE, or the passphrase in ${}",
        kNewPassphraseEnv));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const KeyStatusReport before, db->KeyStatus());
  SENSORDB_RETURN_IF_ERROR(db->RotateMasterKey(next));
  SENSORDB_ASSIGN_OR_RETURN(const KeyStatusReport after, db->KeyStatus());
  fmt::print("master key rotated: {} -> {}; only the new key opens the database now\n",
             before.master_key_fingerprint, after.master_key_fingerprint);
  return Status::Ok();
}

void PrintReencrypted(const std::string& project) {
  fmt::print("project {}: every value is sealed with the newest key; older versions destroyed\n",
             project);
}

Status RunReencrypt(DB& db, const std::string& project) {
  Progress bar(StderrIsTerminal(), "re-encrypting blocks", 0);
  SENSORDB_RETURN_IF_ERROR(db.ReencryptProject(project, [&](uint64_t done, uint64_t total) {
    bar.Update(done, done, total);  // lines = points = blocks here
  }));
  bar.Finish();
  PrintReencrypted(project);
  return Status::Ok();
}

// The server re-encrypts before it replies and reports no progress: on a terminal, show how
// long it has been working.
Status RunRotateProjectRemote(const GlobalArgs& global, const std::string& project,
                              bool reencrypt) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectServer(global));
  auto reply = conn->async().RotateProjectKey(project, reencrypt);
  const bool show = reencrypt && StderrIsTerminal();
  const auto start = std::chrono::steady_clock::now();
  bool drawn = false;
  while (reply.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    if (!show) continue;
    const auto s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
    fmt::print(stderr, "\rre-encrypting on the server: {} s\x1b[K", s.count());
    std::fflush(stderr);
    drawn = true;
  }
  if (drawn) fmt::print(stderr, "\r\x1b[K");
  SENSORDB_ASSIGN_OR_RETURN(const client::RotatedProjectKey k, reply.get());
  fmt::print("project {}: new writes use data key version {}\n", project, k.version);
  if (k.reencrypted) PrintReencrypted(project);
  return Status::Ok();
}

Status RunRotateProject(const GlobalArgs& global, const std::string& project, bool reencrypt) {
  if (global.remote()) return RunRotateProjectRemote(global, project, reencrypt);
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const uint32_t v, db->RotateProjectKey(project));
  fmt::print("project {}: new writes use data key version {}\n", project, v);
  return reencrypt ? RunReencrypt(*db, project) : Status::Ok();
}

}  // namespace

void AddKeyCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto file = std::make_shared<std::string>();
  CLI::App* keygen = app.add_subcommand("keygen", "Create a master key file (32 random bytes, 0600)");
  keygen->add_option("file", *file, "Path of the new key file")->required();
  keygen->callback([action, file] { *action = [file] { return RunKeygen(*file); }; });

  CLI::App* key = app.add_subcommand("key", "Master and data key management");
  key->require_subcommand(1);
  auto json = std::make_shared<bool>(false);
  CLI::App* status = key->add_subcommand("status", "Key versions per project and what they protect");
  status->add_flag("--json", *json, "Print one JSON object");
  status->callback([&global, action, json] {
    *action = [&global, json] { return RunStatus(global, *json); };
  });

  auto new_key = std::make_shared<std::string>();
  CLI::App* master = key->add_subcommand(
      "rotate-master", "Re-wrap all data keys under a new master key (or $SENSORDB_NEW_PASSPHRASE)");
  master->add_option("--new-key-file", *new_key, "The new master key file");
  master->callback([&global, action, new_key] {
    *action = [&global, new_key] { return RunRotateMaster(global, *new_key); };
  });

  auto project = std::make_shared<std::string>();
  auto reencrypt = std::make_shared<bool>(false);
  CLI::App* rp = key->add_subcommand("rotate-project", "Start a new data key version for a project");
  rp->add_option("--project,-p", *project, "Project")->required();
  rp->add_flag("--reencrypt", *reencrypt, "Also re-encrypt old data and destroy old versions");
  rp->callback([&global, action, project, reencrypt] {
    *action = [&global, project, reencrypt] {
      return RunRotateProject(global, *project, *reencrypt);
    };
  });

  CLI::App* re = key->add_subcommand(
      "reencrypt", "Re-seal a project's data under its newest key and destroy older versions");
  re->add_option("--project,-p", *project, "Project")->required();
  re->callback([&global, action, project] {
    *action = [&global, project]() -> Status {
      SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
      return RunReencrypt(*db, *project);
    };
  });
}

}  // namespace sensordb::cli
