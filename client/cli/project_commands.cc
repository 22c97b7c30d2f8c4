// `sensordb project create|list|drop|retention`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli_common.h"
#include "output.h"

namespace sensordb::cli {
namespace {

struct ProjectArgs {
  std::string name;
  uint32_t retention_days = 0;
  bool yes = false;
  std::string format;
};

Status RunCreate(const GlobalArgs& global, const ProjectArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/true));
  ProjectOptions options;
  options.retention_days = args.retention_days;
  SENSORDB_ASSIGN_OR_RETURN(const ProjectInfo p, db->CreateProject(args.name, options));
  fmt::print("created project '{}' (id {}, retention {})\n", p.name, p.id,
             p.retention_days ? fmt::format("{} days", p.retention_days) : "forever");
  return Status::Ok();
}

Status RunList(const GlobalArgs& global, const ProjectArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const auto projects, db->ListProjects());
  auto out = RowWriter::Make(format, stdout, {"name", "id", "retention_days"});
  for (const ProjectInfo& p : projects) {
    const Cell cells[] = {Cell::Text(p.name), Cell::Uint(p.id), Cell::Uint(p.retention_days)};
    out->Row(cells);
  }
  return out->Finish();
}

// Asks on the terminal; anything but y/yes declines.
bool Confirm(const std::string& question) {
  fmt::print(stderr, "{} [y/N] ", question);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

Status RunDrop(const GlobalArgs& global, const ProjectArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const ProjectInfo p, db->GetProject(args.name));
  if (!args.yes && StdinIsTerminal() &&
      !Confirm(fmt::format("Drop project '{}' with all its devices and points? This cannot be "
                           "undone.",
                           p.name))) {
    return Status::FailedPrecondition("not dropped (answer y to drop, or pass --yes)");
  }
  SENSORDB_RETURN_IF_ERROR(db->DropProject(args.name));
  fmt::print("dropped project '{}'\n", args.name);
  return Status::Ok();
}

Status RunRetention(const GlobalArgs& global, const ProjectArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_RETURN_IF_ERROR(db->SetRetention(args.name, args.retention_days));
  if (args.retention_days == 0) {
    fmt::print("project '{}' keeps its data forever\n", args.name);
  } else {
    fmt::print("project '{}' keeps {} days of data\n", args.name, args.retention_days);
  }
  return Status::Ok();
}

using RunFn = Status (*)(const GlobalArgs&, const ProjectArgs&);

void OnParsed(CLI::App* cmd, const GlobalArgs& global, Action* action,
              std::shared_ptr<ProjectArgs> args, RunFn run) {
  cmd->callback([&global, action, args, run] {
    *action = [&global, args, run] { return run(global, *args); };
  });
}

}  // namespace

void AddProjectCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto args = std::make_shared<ProjectArgs>();
  CLI::App* project = app.add_subcommand("project", "Create, list and drop projects");
  project->require_subcommand(1);

  CLI::App* create = project->add_subcommand("create", "Create a project");
  create->add_option("name", args->name, "Project name: [a-z0-9_-], 1-64 characters")->required();
  create->add_option("--retention-days", args->retention_days, "Keep N days of data (0 = forever)");
  OnParsed(create, global, action, args, RunCreate);

  CLI::App* list = project->add_subcommand("list", "List projects");
  AddFormatOption(list, &args->format);
  OnParsed(list, global, action, args, RunList);

  CLI::App* drop = project->add_subcommand("drop", "Drop a project and all its data");
  drop->add_option("name", args->name, "Project name")->required();
  drop->add_flag("--yes,-y", args->yes, "Do not ask for confirmation");
  OnParsed(drop, global, action, args, RunDrop);

  CLI::App* retention = project->add_subcommand("retention", "Set a project's retention");
  retention->add_option("name", args->name, "Project name")->required();
  retention->add_option("days", args->retention_days, "Days of data to keep (0 = forever)")
      ->required();
  OnParsed(retention, global, action, args, RunRetention);
}

}  // namespace sensordb::cli
