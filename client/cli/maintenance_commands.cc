// `sensordb stats|flush|compact|salvage`; flush and compact also with --server (superuser).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "output.h"

namespace sensordb::cli {
namespace {

Status RunStats(const GlobalArgs& global, bool json) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const DBStats s, db->Stats());
  const std::pair<const char*, uint64_t> counts[] = {
      {"projects", s.projects},       {"series", s.series}, {"points", s.points},
      {"head_points", s.head_points}, {"blocks", s.blocks}, {"disk_bytes", s.disk_bytes}};
  if (json) {
    fmt::print("{{");
    for (const auto& [name, value] : counts) fmt::print("\"{}\": {}, ", name, value);
    fmt::print("\"bytes_per_point\": {}}}\n", FormatDouble(s.bytes_per_point()));
  } else {
    for (const auto& [name, value] : counts) fmt::print("{:<16}{}\n", name, value);
    fmt::print("{:<16}{:.3f}\n", "bytes_per_point", s.bytes_per_point());
  }
  return std::fflush(stdout) == 0 ? Status::Ok() : Status::IOError("cannot write the output");
}

Status RunFlush(const GlobalArgs& global) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_RETURN_IF_ERROR(db->Flush());
  fmt::print("flushed: every head chunk is sealed into blocks\n");
  return Status::Ok();
}

Status RunCompact(const GlobalArgs& global) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_RETURN_IF_ERROR(db->EnforceRetention());
  SENSORDB_RETURN_IF_ERROR(db->Compact());
  fmt::print("compacted: expired blocks dropped, files compacted\n");
  return Status::Ok();
}

// docs/SALVAGE.md. Exit status 0: nothing damaged; 1: damage found (reported, and exported
// around with --export).
Status RunSalvage(const GlobalArgs& global, const std::string& export_dir, bool json) {
  if (global.remote()) return Status::InvalidArgument("salvage reads a data directory, not a server");
  if (global.data_dir.empty()) {
    return Status::InvalidArgument("--data-dir DIR is required (or set SENSORDB_DATA_DIR)");
  }
  SENSORDB_ASSIGN_OR_RETURN(const Options options, LocalOptions(global));
  SENSORDB_ASSIGN_OR_RETURN(const SalvageReport r,
                            DB::Salvage(options, global.data_dir, {export_dir, ""}));
  if (json) {
    fmt::print("{{\"damaged\": [");
    for (size_t i = 0; i < r.damage.size(); ++i) {
      fmt::print("{}{}", i ? ", " : "", JsonString(r.damage[i]));
    }
    fmt::print("], \"projects\": {}, \"series\": {}, \"points\": {}, \"exported_to\": {}}}\n",
               r.projects, r.series, r.points,
               export_dir.empty() ? "null" : JsonString(export_dir));
  } else {
    for (const auto& d : r.damage) fmt::print("damaged: {}\n", d);
    fmt::print("readable: {} projects, {} series, {} points{}\n", r.projects, r.series, r.points,
               export_dir.empty() ? "" : " (exported to " + export_dir + ")");
    fmt::print("{}\n", r.clean() ? "no damage found" : fmt::format("{} damaged", r.damage.size()));
  }
  if (std::fflush(stdout) != 0) return Status::IOError("cannot write the output");
  if (r.clean()) return Status::Ok();
  return Status::Corruption(fmt::format("{} damaged in {} (nothing in it was changed)",
                                        r.damage.size(), global.data_dir));
}

}  // namespace

void AddMaintenanceCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto json = std::make_shared<bool>(false);
  CLI::App* stats = app.add_subcommand("stats", "Show counts of projects, series, points, bytes");
  stats->add_flag("--json", *json, "Print one JSON object");
  stats->callback(
      [&global, action, json] { *action = [&global, json] { return RunStats(global, *json); }; });
  app.add_subcommand("flush", "Seal all head chunks into blocks")->callback([&global, action] {
    *action = [&global] { return RunFlush(global); };
  });
  app.add_subcommand("compact", "Drop expired blocks, then compact all files")
      ->callback([&global, action] { *action = [&global] { return RunCompact(global); }; });
  auto export_dir = std::make_shared<std::string>();
  auto salvage_json = std::make_shared<bool>(false);
  CLI::App* salvage = app.add_subcommand(
      "salvage", "Read everything read-only, report every damaged file, record and block, and "
                 "copy what is readable to a new directory (never changes the source)");
  salvage->add_option("--export", *export_dir, "A new directory for every readable point");
  salvage->add_flag("--json", *salvage_json, "Print one JSON object");
  salvage->callback([&global, action, export_dir, salvage_json] {
    *action = [&global, export_dir, salvage_json] {
      return RunSalvage(global, *export_dir, *salvage_json);
    };
  });
}

}  // namespace sensordb::cli
