#include "remote_db.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace sensordb::cli {
namespace {

template <typename T>
Status OkIf(const Result<T>& r) {
  return r ? Status::Ok() : r.error();
}

// Every call fails: the server-wide records are not reachable through the DB interface.
class UnavailableSystemStore final : public SystemStore {
 public:
  Status Apply(std::span<const Op>) override { return Error(); }
  Result<std::optional<std::string>> GetNamed(SystemSpace, std::string_view) override {
    return Err(Error());
  }
  Result<std::optional<std::string>> GetNumbered(SystemSpace, uint64_t) override {
    return Err(Error());
  }
  Status ScanNamed(SystemSpace,
                   const std::function<bool(std::string_view, std::string_view)>&) override {
    return Error();
  }
  Status ScanNumbered(SystemSpace, uint64_t,
                      const std::function<bool(uint64_t, std::string_view)>&) override {
    return Error();
  }
  Result<uint64_t> LastNumbered(SystemSpace) override { return Err(Error()); }
  Status PutFileRecord(std::string_view, std::string_view) override { return Error(); }
  Result<std::optional<std::string>> GetFileRecord(std::string_view) override {
    return Err(Error());
  }

 private:
  static Status Error() {
    return Status::NotSupported(
        "the server-wide records (accounts, tokens, grants, audit log) are not reachable "
        "directly with --server; use `sensordb user|token|grant|audit`");
  }
};

// Bytes a slice of `points` points of column `c` takes in a Write frame, rounded up: 8 per
// timestamp, 8 per value, the names and the column table's own fields.
size_t WireBytes(const WriteBatch::Column& c, size_t points) {
  return points * 16 + c.device.size() + c.channel.size() + 128;
}

// Bytes a label set takes in a Write frame, rounded up: 8 per time, the names, the tables.
size_t LabelBytes(const WriteBatch::LabelSet& l) {
  size_t bytes = 64 + l.device.size() + 8 * l.timestamps.size();
  for (const auto& [k, v] : l.labels) bytes += 24 + k.size() + v.size();
  return bytes;
}

// Appends points [from, from + n) of `c` to `part`.
void AddSlice(const WriteBatch::Column& c, size_t from, size_t n, WriteBatch* part) {
  const std::span<const int64_t> ts(c.timestamps.data() + from, n);
  switch (c.type) {
    case ValueType::kFloat64:
      part->AddFloat64(c.device, c.channel, ts, std::span(c.f64.data() + from, n));
      break;
    case ValueType::kInt64:
      part->AddInt64(c.device, c.channel, ts, std::span(c.i64.data() + from, n));
      break;
    case ValueType::kBool:
      for (size_t i = from; i < from + n; ++i) {
        part->Add(c.device, c.channel, c.timestamps[i], Value::Bool(c.b[i] != 0));
      }
      break;
  }
}

}  // namespace

Status LabelsNotSupported() {
  return Status::NotSupported(
      "device labels cannot be set or listed over the native protocol yet (queries with label "
      "conditions and groups work): use a data directory, or write tags over REST "
      "(docs/LABELS.md)");
}

Status LocalOnlyError(std::string_view command, std::string_view hint) {
  std::string message = fmt::format(
      "`sensordb {}` works on a data directory only; it is not available with --server", command);
  if (!hint.empty()) fmt::format_to(std::back_inserter(message), " ({})", hint);
  return Status::NotSupported(std::move(message));
}

RemoteDB::RemoteDB(std::unique_ptr<client::Client> client, Durability durability)
    : client_(std::move(client)),
      durability_(durability),
      system_(std::make_unique<UnavailableSystemStore>()) {}

RemoteDB::~RemoteDB() = default;

Result<ProjectInfo> RemoteDB::CreateProject(std::string_view name, const ProjectOptions& options) {
  return client_->CreateProject(name, options);
}

Result<std::vector<ProjectInfo>> RemoteDB::ListProjects() { return client_->ListProjects(); }

Result<ProjectInfo> RemoteDB::GetProject(std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(std::vector<ProjectInfo> projects, client_->ListProjects());
  for (ProjectInfo& p : projects) {
    if (p.name == name) return std::move(p);
  }
  // The server's own wording: a project without a grant looks like one that does not exist.
  return Err(
      Status::NotFound(fmt::format("project '{}' does not exist or you have no role in it", name)));
}

Status RemoteDB::DropProject(std::string_view name) { return client_->DropProject(name); }

Status RemoteDB::SetRetention(std::string_view project, uint32_t retention_days) {
  return client_->SetRetention(project, retention_days);
}

Status RemoteDB::RegisterDevice(std::string_view project, const DeviceInfo& device) {
  return client_->RegisterDevice(project, device);
}

Result<std::vector<DeviceInfo>> RemoteDB::ListDevices(std::string_view project) {
  return client_->ListDevices(project);
}

Status RemoteDB::SetDeviceLabels(std::string_view, std::string_view, int64_t,
                                 std::span<const std::pair<std::string, std::string>>) {
  return LabelsNotSupported();
}

Result<std::vector<DeviceLabels>> RemoteDB::ListDeviceLabels(std::string_view, std::string_view) {
  return Err(LabelsNotSupported());
}

Result<std::vector<std::pair<std::string, std::vector<std::string>>>> RemoteDB::ListLabelValues(
    std::string_view) {
  return Err(LabelsNotSupported());
}

Result<ChannelInfo> RemoteDB::RegisterChannel(std::string_view project, std::string_view device,
                                              std::string_view channel, ValueType type,
                                              std::string_view unit) {
  return client_->RegisterChannel(project, device, channel, type, unit);
}

Result<std::vector<ChannelInfo>> RemoteDB::ListChannels(std::string_view project,
                                                        std::string_view device) {
  return client_->ListChannels(project, device);
}

Status RemoteDB::Write(std::string_view project, const WriteBatch& batch) {
  const client::SessionInfo& s = client_->session();
  size_t bytes = 0;
  for (const WriteBatch::Column& c : batch.columns()) bytes += WireBytes(c, c.size());
  for (const WriteBatch::LabelSet& l : batch.label_sets()) bytes += LabelBytes(l);
  // Room for the envelope and the Write table around the columns.
  const size_t max_bytes = s.max_frame_bytes - std::min<size_t>(s.max_frame_bytes / 8, 64 * 1024);
  if (batch.points() <= s.max_write_points && bytes <= max_bytes) {
    return OkIf(client_->Write(project, batch, durability_));
  }
  return WriteParts(project, batch);
}

Status RemoteDB::Write(std::string_view, uint32_t, const WriteBatch&) {
  return Status::NotSupported("a write pinned to a project id is not available over the network");
}

Status RemoteDB::WriteParts(std::string_view project, const WriteBatch& batch) {
  const client::SessionInfo& s = client_->session();
  // The labels go with the last part: room is kept for them in every part, and a batch whose
  // labels alone pass a Write's limits is refused before any part is sent.
  size_t label_bytes = 0, label_times = 0;
  for (const WriteBatch::LabelSet& l : batch.label_sets()) {
    label_bytes += LabelBytes(l);
    label_times += l.timestamps.size();
  }
  const size_t frame_room = s.max_frame_bytes - std::min<size_t>(s.max_frame_bytes / 8, 64 * 1024);
  if (label_times >= s.max_write_points || label_bytes >= frame_room / 2) {
    return Status::InvalidArgument(fmt::format(
        "the batch sets labels at {} times ({} bytes): more than one Write of this server "
        "takes with points; send smaller batches",
        label_times, label_bytes));
  }
  const size_t max_bytes = frame_room - label_bytes;
  const size_t max_points = s.max_write_points - label_times;
  WriteBatch part;
  size_t part_bytes = 0;
  auto send = [&]() -> Status {
    if (part.empty()) return Status::Ok();
    Status written = OkIf(client_->Write(project, part, durability_));
    part.Clear();
    part_bytes = 0;
    return written;
  };
  for (const WriteBatch::Column& c : batch.columns()) {
    const size_t values = c.type == ValueType::kFloat64 ? c.f64.size()
                          : c.type == ValueType::kInt64 ? c.i64.size()
                                                        : c.b.size();
    if (values != c.size()) {  // slicing would read past the values; nothing is sent
      return Status::InvalidArgument(fmt::format("column {}/{} has {} timestamps but {} values",
                                                 c.device, c.channel, c.size(), values));
    }
  }
  for (const WriteBatch::Column& c : batch.columns()) {
    for (size_t from = 0; from < c.size();) {
      const size_t fixed = WireBytes(c, 0);
      const size_t room_points = max_points - part.points();
      const size_t room_bytes =
          part_bytes + fixed < max_bytes ? (max_bytes - part_bytes - fixed) / 16 : 0;
      const size_t n = std::min({c.size() - from, room_points, room_bytes});
      if (n == 0) {
        if (part.empty()) {
          return Status::InvalidArgument(fmt::format(
              "series {}/{} does not fit in one frame of the server's limit of {} bytes", c.device,
              c.channel, s.max_frame_bytes));
        }
        SENSORDB_RETURN_IF_ERROR(send());
        continue;
      }
      AddSlice(c, from, n, &part);
      part_bytes += WireBytes(c, n);
      from += n;
    }
  }
  // The labels go with the last part: every device they name is then stored or in the part.
  for (const WriteBatch::LabelSet& l : batch.label_sets()) {
    part.SetLabels(l.device, l.timestamps, l.labels);
  }
  return send();
}

Status RemoteDB::QueryRaw(std::string_view project, const Selector& selector,
                          const TimeRange& range, const RawCallback& callback) {
  return OkIf(client_->QueryRaw(project, selector, range, /*limit=*/0, callback));
}

Result<std::vector<LatestPoint>> RemoteDB::Latest(std::string_view project,
                                                  std::string_view device) {
  std::vector<LatestPoint> points;
  SENSORDB_RETURN_IF_ERROR(OkIf(client_->Latest(project, device, {}, [&](const LatestPoint& p) {
    points.push_back(p);
    return true;
  })));
  return points;
}

Status RemoteDB::Aggregate(std::string_view project, const AggregateQuery& query,
                           const AggregateCallback& callback) {
  return OkIf(client_->Aggregate(project, query, callback, /*limit=*/0));
}

Status RemoteDB::PutProjectSecret(std::string_view, std::string_view, std::string_view) {
  return Status::NotSupported("project secrets are not available over the network");
}

Result<std::optional<std::string>> RemoteDB::GetProjectSecret(std::string_view,
                                                              std::string_view) {
  return Err(Status::NotSupported("project secrets are not available over the network"));
}

Status RemoteDB::DeleteProjectSecret(std::string_view, std::string_view) {
  return Status::NotSupported("project secrets are not available over the network");
}

namespace {
Status NoFiles() {
  return Status::NotSupported("project files are not available over the network");
}
}  // namespace

Result<std::unique_ptr<ProjectFileWriter>> RemoteDB::CreateProjectFile(std::string_view) {
  return Err(NoFiles());
}

Result<std::vector<ProjectFileInfo>> RemoteDB::ListProjectFiles(std::string_view) {
  return Err(NoFiles());
}

Result<ProjectFileInfo> RemoteDB::GetProjectFile(std::string_view, uint64_t) {
  return Err(NoFiles());
}

Status RemoteDB::ReadProjectFile(std::string_view, uint64_t, uint64_t, uint64_t, std::string*) {
  return NoFiles();
}

Status RemoteDB::DeleteProjectFile(std::string_view, uint64_t) { return NoFiles(); }

Status RemoteDB::Flush() { return client_->Flush(); }

Status RemoteDB::Compact() { return client_->Compact(); }

// The server enforces retention on its own schedule and before every Compact it is asked for.
Status RemoteDB::EnforceRetention(int64_t) { return Status::Ok(); }

Result<DBStats> RemoteDB::Stats() {
  return Err(LocalOnlyError("stats", "the server's metrics endpoint has these counts"));
}

Status RemoteDB::RotateMasterKey(const KeySource&) {
  return LocalOnlyError("key rotate-master", "run it on the server host with the server stopped");
}

Result<uint32_t> RemoteDB::RotateProjectKey(std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(const client::RotatedProjectKey k,
                            client_->RotateProjectKey(project, /*reencrypt=*/false));
  return k.version;
}

Status RemoteDB::ReencryptProject(std::string_view, const ProgressCallback&) {
  return LocalOnlyError("key reencrypt",
                        "with --server use `sensordb key rotate-project -p PROJECT --reencrypt`");
}

Result<KeyStatusReport> RemoteDB::KeyStatus() { return client_->KeyStatus(); }

SystemStore& RemoteDB::System() { return *system_; }

Result<BackupInfo> RemoteDB::CreateBackup(std::string_view, const BackupOptions&) {
  return Err(LocalOnlyError("backup create", "the server takes its own backups (docs/SERVER.md)"));
}

}  // namespace sensordb::cli
