// `sensordb device list|register` and `sensordb channel list|register`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "output.h"
#include "value_parse.h"

namespace sensordb::cli {
namespace {

struct DeviceArgs {
  std::string project;
  std::string device;
  std::string name;
  std::string model;
  std::string firmware;
  std::string type;
  std::string unit;
  std::string format;
};

Status RunDeviceList(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const auto devices, db->ListDevices(args.project));
  auto out = RowWriter::Make(format, stdout, {"name", "model", "firmware_version"});
  for (const DeviceInfo& d : devices) {
    const Cell cells[] = {Cell::Text(d.name), Cell::Text(d.model), Cell::Text(d.firmware_version)};
    out->Row(cells);
  }
  return out->Finish();
}

Status RunDeviceRegister(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_RETURN_IF_ERROR(
      db->RegisterDevice(args.project, {args.name, args.model, args.firmware}));
  fmt::print("registered device '{}' in project '{}'\n", args.name, args.project);
  return Status::Ok();
}

Status RunChannelList(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const auto channels, db->ListChannels(args.project, args.device));
  auto out = RowWriter::Make(format, stdout, {"device", "channel", "type", "unit", "series_id"});
  for (const ChannelInfo& c : channels) {
    const Cell cells[] = {Cell::Text(c.device), Cell::Text(c.name),
                          Cell::Text(ValueTypeName(c.type)), Cell::Text(c.unit),
                          Cell::Uint(c.series_id)};
    out->Row(cells);
  }
  return out->Finish();
}

Status RunChannelRegister(const GlobalArgs& global, const DeviceArgs& args) {
  ValueType type = ValueType::kFloat64;
  ParseValueTypeName(args.type, &type);  // checked by CLI11
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const ChannelInfo c, db->RegisterChannel(args.project, args.device,
                                                                     args.name, type, args.unit));
  fmt::print("registered channel {}/{} ({}) in project '{}'\n", c.device, c.name,
             ValueTypeName(c.type), args.project);
  return Status::Ok();
}

using RunFn = Status (*)(const GlobalArgs&, const DeviceArgs&);

CLI::App* Command(CLI::App* parent, const char* name, const char* help, const GlobalArgs& global,
                  Action* action, std::shared_ptr<DeviceArgs> args, RunFn run) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--project,-p", args->project, "Project")->required();
  cmd->callback([&global, action, args, run] {
    *action = [&global, args, run] { return run(global, *args); };
  });
  return cmd;
}

void AddFormat(CLI::App* cmd, DeviceArgs& args) { AddFormatOption(cmd, &args.format); }

}  // namespace

void AddDeviceCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto args = std::make_shared<DeviceArgs>();
  CLI::App* device = app.add_subcommand("device", "List and register devices");
  device->require_subcommand(1);
  AddFormat(
      Command(device, "list", "List the devices of a project", global, action, args, RunDeviceList),
      *args);
  CLI::App* reg = Command(device, "register", "Register a device or update its model/firmware",
                          global, action, args, RunDeviceRegister);
  reg->add_option("name", args->name, "Device name")->required();
  reg->add_option("--model", args->model, "Model");
  reg->add_option("--firmware", args->firmware, "Firmware version");

  CLI::App* channel = app.add_subcommand("channel", "List and register channels");
  channel->require_subcommand(1);
  CLI::App* list = Command(channel, "list", "List channels of a project or of one device", global,
                           action, args, RunChannelList);
  list->add_option("--device,-d", args->device, "Only this device");
  AddFormat(list, *args);
  CLI::App* creg = Command(channel, "register", "Register a channel (creates its device)", global,
                           action, args, RunChannelRegister);
  creg->add_option("--device,-d", args->device, "Device")->required();
  creg->add_option("name", args->name, "Channel name")->required();
  creg->add_option("--type", args->type, "Value type")
      ->required()
      ->check(CLI::IsMember({"float64", "int64", "bool"}));
  creg->add_option("--unit", args->unit, "Unit, e.g. degC");
}

}  // namespace sensordb::cli
