// `sensordb import`: options and the summary line; the work is in Importer.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli_common.h"
#include "importer.h"
#include "remote_db.h"
#include "value_parse.h"

namespace sensordb::cli {
namespace {

struct ImportArgs {
  std::string project;
  std::string file;
  std::string format = "auto";
  std::string precision = "ns";
  std::string type;
  size_t batch_points = 100'000;
};

Status RunImport(const GlobalArgs& global, const ImportArgs& args) {
  ImportOptions options;
  options.project = args.project;
  options.path = args.file;
  options.format = args.format == "csv"  ? ImportFormat::kCsv
                   : args.format == "lp" ? ImportFormat::kLineProtocol
                                         : ImportFormat::kAuto;
  ParsePrecision(args.precision, &options.precision);               // checked by CLI11
  options.has_type = ParseValueTypeName(args.type, &options.type);  // checked by CLI11
  options.batch_points = args.batch_points;
  options.progress = StderrIsTerminal();

  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/true));
  if (const auto* remote = dynamic_cast<const RemoteDB*>(db.get())) {
    // Each batch must stay one Write, so that it is applied atomically as locally.
    options.batch_points = std::min(options.batch_points, remote->max_write_points());
  }
  Importer importer(*db, std::move(options));
  SENSORDB_ASSIGN_OR_RETURN(const ImportSummary s, importer.Run());
  if (s.created_project) fmt::print(stderr, "created project '{}'\n", args.project);
  const double rate = s.seconds > 0 ? double(s.points) / s.seconds : 0;
  fmt::print("imported {} points into {} series in {:.3f} s ({:.0f} points/s)\n", s.points,
             s.series, s.seconds, rate);
  return Status::Ok();
}

}  // namespace

void AddImportCommand(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "import", "Import line protocol or CSV from FILE ('-' = stdin) into a project");
  cmd->add_option("--project,-p", args->project, "Project (created if it does not exist)")
      ->required();
  cmd->add_option("file", args->file, "Input file, or - for standard input")->required();
  cmd->add_option("--format", args->format, "Input format (auto: by extension or first line)")
      ->check(CLI::IsMember({"auto", "lp", "csv"}));
  cmd->add_option("--precision", args->precision, "Unit of integer timestamps")
      ->check(CLI::IsMember({"ns", "n", "us", "u", "ms", "s", "m", "h"}));
  cmd->add_option("--type", args->type, "CSV: value type of every column")
      ->check(CLI::IsMember({"float64", "int64", "bool"}));
  cmd->add_option("--batch-points", args->batch_points, "Points per atomic write batch")
      ->check(CLI::Range(size_t{1}, size_t{16} * 1024 * 1024));
  cmd->callback(
      [&global, action, args] { *action = [&global, args] { return RunImport(global, *args); }; });
}

}  // namespace sensordb::cli
