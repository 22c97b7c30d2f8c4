// `sensordb stats|flush|compact`.
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
}

}  // namespace sensordb::cli
