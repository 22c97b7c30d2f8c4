// `sensordb device list|register`, `sensordb channel list|register`, and device identity
// (docs/DEVICES.md): `sensordb device keygen` (local), `enroll|certs|revoke|ca` (--server).
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "connect.h"
#include "identity/device_ca.h"
#include "output.h"
#include "time_util.h"
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
  // Device identity.
  std::string csr_file;
  std::string key_file;
  std::string out_file;
  std::string serial;
  uint32_t days = 0;
  // Labels.
  std::vector<std::string> set_labels;  // KEY=VALUE
  std::vector<std::string> unset_labels;
  std::string from;
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

// Every change of every label of the project's devices (or of one), oldest first per key.
Status RunDeviceLabels(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(const auto devices, db->ListDeviceLabels(args.project, args.device));
  auto out = RowWriter::Make(format, stdout, {"device", "key", "value", "from_ns", "from"});
  for (const DeviceLabels& d : devices) {
    for (const LabelHistory& h : d.labels) {
      for (const LabelEntry& e : h.entries) {
        const std::string from = FormatRfc3339(e.from_ns);
        const Cell cells[] = {Cell::Text(d.device), Cell::Text(h.key),
                              e.value.empty() ? Cell::Null() : Cell::Text(e.value),
                              Cell::Int(e.from_ns), Cell::Text(from)};
        out->Row(cells);
      }
    }
  }
  return out->Finish();
}

Status RunDeviceLabel(const GlobalArgs& global, const DeviceArgs& args) {
  std::vector<std::pair<std::string, std::string>> labels;
  for (const std::string& kv : args.set_labels) {
    const size_t eq = kv.find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == kv.size()) {
      return Status::InvalidArgument("label '" + kv +
                                     "': expected KEY=VALUE (use --unset KEY "
                                     "to remove one)");
    }
    labels.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const std::string& key : args.unset_labels) labels.emplace_back(key, "");
  if (labels.empty()) return Status::InvalidArgument("give KEY=VALUE labels or --unset KEY");
  const int64_t now = NowNanos();
  int64_t from = now;
  if (!args.from.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(from, ParseTimePoint(args.from, now));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_RETURN_IF_ERROR(db->SetDeviceLabels(args.project, args.device, from, labels));
  fmt::print("set {} label(s) of device '{}' of project '{}' from {}\n", labels.size(), args.device,
             args.project, FormatRfc3339(from));
  return Status::Ok();
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

// ---- Device identity ---------------------------------------------------------------------------

// The file's text; refuses one over `max_bytes` (a CSR is small) before reading it all.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(Status::NotFound(fmt::format("cannot read '{}': {}", path, std::strerror(errno))));
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  if (text.size() > max_bytes) {
    return Err(Status::InvalidArgument(
        fmt::format("'{}' is over {} bytes; is it really a CSR?", path, max_bytes)));
  }
  return text;
}

// A new file for public PEM text (0644), created before the request so that an existing file
// is refused before the server does anything; never overwrites one.
Result<int> CreateNewFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Err(Status::IOError(fmt::format("cannot create '{}': {}{}", path, std::strerror(errno),
                                           errno == EEXIST ? " (it is never overwritten)" : "")));
  }
  return fd;
}

// Writes `text` to `fd` (from CreateNewFile, or -1 for stdout) and closes it; on failure the
// file is removed.
Status Emit(int fd, const std::string& path, std::string_view text) {
  if (fd < 0) {
    fmt::print("{}", text);
    return Status::Ok();
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  const bool ok = done == text.size() && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok) {
    ::unlink(path.c_str());
    return Status::IOError(fmt::format("cannot write '{}'", path));
  }
  return Status::Ok();
}

// Closes and removes a file CreateNewFile made for a request that failed.
template <typename T>
Result<T> Abandon(int fd, const std::string& path, Result<T> r) {
  if (!r && fd >= 0) {
    ::close(fd);
    ::unlink(path.c_str());
  }
  return r;
}

Status RunKeygen(const GlobalArgs&, const DeviceArgs& args) {
  SENSORDB_RETURN_IF_ERROR(
      WriteDeviceKeyAndCsr(args.project, args.device, args.key_file, args.csr_file));
  fmt::print("wrote key {} (0600, ECDSA P-256) and CSR {} for device '{}' of project '{}'\n",
             args.key_file, args.csr_file, args.device, args.project);
  return Status::Ok();
}

Status RunEnroll(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const std::string csr, ReadSmallFile(args.csr_file, kMaxCsrBytes));
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "device enroll"));
  int fd = -1;
  if (!args.out_file.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(fd, CreateNewFile(args.out_file));
  }
  SENSORDB_ASSIGN_OR_RETURN(
      const auto cert,
      Abandon(fd, args.out_file, conn->Enroll(args.project, args.device, csr, args.days)));
  SENSORDB_RETURN_IF_ERROR(Emit(fd, args.out_file, cert.certificate_pem + cert.chain_pem));
  if (fd < 0) return Status::Ok();
  fmt::print("enrolled device '{}' of project '{}': certificate {} (SHA-256 {}), valid until {}; "
             "chain written to {}\n",
             args.device, args.project, cert.serial, cert.fingerprint,
             FormatRfc3339(cert.not_after_ns), args.out_file);
  return Status::Ok();
}

Status RunCerts(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "device certs"));
  SENSORDB_ASSIGN_OR_RETURN(const auto certs, conn->ListDeviceCerts(args.project, args.device));
  auto out = RowWriter::Make(format, stdout,
                             {"device", "serial", "fingerprint", "not_before", "not_after",
                              "issued", "revoked", "last_seen", "status", "model",
                              "firmware_version"});
  auto time = [](int64_t ns) { return ns == 0 ? std::string() : FormatRfc3339(ns); };
  for (const client::DeviceCertificate& c : certs) {
    const std::string times[] = {time(c.not_before_ns), time(c.not_after_ns), time(c.issued_ns),
                                 time(c.revoked_ns), time(c.last_seen_ns)};
    const char* status = c.device_revoked ? "device-revoked" : c.revoked_ns ? "revoked" : "active";
    const Cell cells[] = {Cell::Text(c.device),  Cell::Text(c.serial),   Cell::Text(c.fingerprint),
                          Cell::Text(times[0]),  Cell::Text(times[1]),   Cell::Text(times[2]),
                          Cell::Text(times[3]),  Cell::Text(times[4]),   Cell::Text(status),
                          Cell::Text(c.model),   Cell::Text(c.firmware_version)};
    out->Row(cells);
  }
  return out->Finish();
}

Status RunRevoke(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "device revoke"));
  if (args.serial.empty()) {
    SENSORDB_RETURN_IF_ERROR(conn->RevokeDevice(args.project, args.device));
    fmt::print("revoked device '{}' of project '{}' and all its certificates\n", args.device,
               args.project);
  } else {
    SENSORDB_RETURN_IF_ERROR(conn->RevokeDeviceCert(args.project, args.device, args.serial));
    fmt::print("revoked certificate {} of device '{}' of project '{}'\n", args.serial,
               args.device, args.project);
  }
  return Status::Ok();
}

Status RunCa(const GlobalArgs& global, const DeviceArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "device ca"));
  int fd = -1;
  if (!args.out_file.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(fd, CreateNewFile(args.out_file));
  }
  SENSORDB_ASSIGN_OR_RETURN(const std::string pem,
                            Abandon(fd, args.out_file, conn->GetDeviceCa(args.project)));
  SENSORDB_RETURN_IF_ERROR(Emit(fd, args.out_file, pem));
  if (fd >= 0) fmt::print("device CA of project '{}' written to {}\n", args.project, args.out_file);
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
  CLI::App* device =
      app.add_subcommand("device", "List and register devices; enrol and revoke their certificates");
  device->require_subcommand(1);
  AddFormat(
      Command(device, "list", "List the devices of a project", global, action, args, RunDeviceList),
      *args);
  CLI::App* reg = Command(device, "register", "Register a device or update its model/firmware",
                          global, action, args, RunDeviceRegister);
  reg->add_option("name", args->name, "Device name")->required();
  reg->add_option("--model", args->model, "Model");
  reg->add_option("--firmware", args->firmware, "Firmware version");

  CLI::App* labels =
      Command(device, "labels", "List the label histories of the devices (docs/LABELS.md)", global,
              action, args, RunDeviceLabels);
  labels->add_option("--device,-d", args->device, "Only this device");
  AddFormat(labels, *args);
  CLI::App* label = Command(device, "label", "Set labels of a device from a time on (default: now)",
                            global, action, args, RunDeviceLabel);
  label->add_option("--device,-d", args->device, "Device")->required();
  label->add_option("labels", args->set_labels, "KEY=VALUE ...");
  label->add_option("--unset", args->unset_labels, "Remove the label KEY (repeatable)");
  label->add_option("--from", args->from, "From this time on: RFC 3339, integer ns, now, -1h");

  CLI::App* keygen = Command(device, "keygen",
                             "Make a device key (0600) and a CSR for it, locally", global, action,
                             args, RunKeygen);
  keygen->add_option("--device,-d", args->device, "Device")->required();
  keygen->add_option("--key", args->key_file, "Key file to create (never overwritten)")
      ->required();
  keygen->add_option("--csr", args->csr_file, "CSR file to create")->required();
  CLI::App* enroll = Command(device, "enroll",
                             "Sign a device's CSR with the project's device CA (needs --server)",
                             global, action, args, RunEnroll);
  enroll->add_option("--device,-d", args->device, "Device")->required();
  enroll->add_option("--csr", args->csr_file, "PEM CSR file")->required();
  enroll->add_option("--days", args->days, "Certificate lifetime (default: the server's)")
      ->check(CLI::Range(1u, kMaxDeviceCertDays));
  enroll->add_option("--out,-o", args->out_file, "Write the chain (certificate, CA) here");
  CLI::App* certs = Command(device, "certs",
                            "List device certificates with expiry and last seen (needs --server)",
                            global, action, args, RunCerts);
  certs->add_option("--device,-d", args->device, "Only this device");
  AddFormat(certs, *args);
  CLI::App* revoke = Command(device, "revoke",
                             "Revoke a device, or with --serial one certificate (needs --server)",
                             global, action, args, RunRevoke);
  revoke->add_option("--device,-d", args->device, "Device")->required();
  revoke->add_option("--serial", args->serial, "Only this certificate (hex serial)");
  CLI::App* ca = Command(device, "ca",
                         "Print the project's device CA certificate, making it if needed "
                         "(needs --server)",
                         global, action, args, RunCa);
  ca->add_option("--out,-o", args->out_file, "Write it to this file");

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
