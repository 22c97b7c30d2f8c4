// RemoteDB: the DB interface over a connection to sensordbd (client::Client), so that the CLI's
// project, device, channel, import, query and key status commands run unchanged with --server.
// What the protocol does not offer (flush, compact, retention enforcement, stats, master key
// rotation, re-encryption on its own, backups, direct access to the SystemStore) returns
// kNotSupported naming the command, e.g. "`sensordb flush` works on a data directory only; it
// is not available with --server".
//
// Write differs from the embedded engine in one way: a batch with more points than the server
// takes in one Write (max_write_points, or its frame size) is sent as several Writes, each
// atomic on its own (its labels with the last); the importer keeps its batches within
// max_write_points() so that each of its batches is one Write. Thread-safe as client::Client is.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sensordb/client/client.h"
#include "sensordb/db.h"

namespace sensordb::cli {

class RemoteDB final : public DB {
 public:
  // `client` is logged in; writes ask for `durability`.
  RemoteDB(std::unique_ptr<client::Client> client, Durability durability);
  ~RemoteDB() override;

  client::Client& client() { return *client_; }
  // Most points the server accepts in one Write.
  size_t max_write_points() const { return client_->session().max_write_points; }

  Result<ProjectInfo> CreateProject(std::string_view name, const ProjectOptions& options) override;
  Result<std::vector<ProjectInfo>> ListProjects() override;
  // ListProjects, then the one named: the server has no request for a single project.
  Result<ProjectInfo> GetProject(std::string_view name) override;
  Status DropProject(std::string_view name) override;
  Status SetRetention(std::string_view project, uint32_t retention_days) override;

  Status RegisterDevice(std::string_view project, const DeviceInfo& device) override;
  Result<std::vector<DeviceInfo>> ListDevices(std::string_view project) override;
  // Setting labels alone and listing them is not in the native protocol yet: kNotSupported
  // (a batch's labels and queries with label conditions and groups are sent).
  Status SetDeviceLabels(std::string_view project, std::string_view device, int64_t from_ns,
                         std::span<const std::pair<std::string, std::string>> labels) override;
  Result<std::vector<DeviceLabels>> ListDeviceLabels(std::string_view project,
                                                     std::string_view device) override;
  Result<std::vector<std::pair<std::string, std::vector<std::string>>>> ListLabelValues(
      std::string_view project) override;
  Result<ChannelInfo> RegisterChannel(std::string_view project, std::string_view device,
                                      std::string_view channel, ValueType type,
                                      std::string_view unit) override;
  Result<std::vector<ChannelInfo>> ListChannels(std::string_view project,
                                                std::string_view device) override;

  // Project secrets never leave the server: kNotSupported.
  Status PutProjectSecret(std::string_view project, std::string_view name,
                          std::string_view value) override;
  Result<std::optional<std::string>> GetProjectSecret(std::string_view project,
                                                      std::string_view name) override;
  Status DeleteProjectSecret(std::string_view project, std::string_view name) override;
  Result<std::unique_ptr<ProjectFileWriter>> CreateProjectFile(std::string_view project) override;
  Result<std::vector<ProjectFileInfo>> ListProjectFiles(std::string_view project) override;
  Result<ProjectFileInfo> GetProjectFile(std::string_view project, uint64_t id) override;
  Status ReadProjectFile(std::string_view project, uint64_t id, uint64_t offset, uint64_t length,
                         std::string* out) override;
  Status DeleteProjectFile(std::string_view project, uint64_t id) override;

  Status Write(std::string_view project, const WriteBatch& batch) override;
  // NotSupported: the server pins the project itself when it admits a write.
  Status Write(std::string_view project, uint32_t project_id, const WriteBatch& batch) override;

  Status QueryRaw(std::string_view project, const Selector& selector, const TimeRange& range,
                  const RawCallback& callback) override;
  Result<std::vector<LatestPoint>> Latest(std::string_view project,
                                          std::string_view device) override;
  Status Aggregate(std::string_view project, const AggregateQuery& query,
                   const AggregateCallback& callback) override;

  Status Flush() override;
  Status Compact() override;
  Status EnforceRetention(int64_t now_ns) override;
  Result<DBStats> Stats() override;

  Status RotateMasterKey(const KeySource& new_key) override;
  Result<uint32_t> RotateProjectKey(std::string_view project) override;
  Status ReencryptProject(std::string_view project, const ProgressCallback& progress) override;
  Result<KeyStatusReport> KeyStatus() override;

  // A store whose every call fails with kNotSupported: accounts, tokens, grants and the audit
  // log are reached through the server's own requests (sensordb user|token|grant|audit).
  SystemStore& System() override;

  Result<BackupInfo> CreateBackup(std::string_view backup_dir,
                                  const BackupOptions& options) override;

 private:
  // Sends `batch` as one Write, or as several when it is over the server's limits.
  Status WriteParts(std::string_view project, const WriteBatch& batch);

  std::unique_ptr<client::Client> client_;
  const Durability durability_;
  std::unique_ptr<SystemStore> system_;
};

// kNotSupported: "`sensordb <command>` works on a data directory only; it is not available with
// --server", with `hint` appended when not empty.
Status LocalOnlyError(std::string_view command, std::string_view hint = {});
// kNotSupported: setting and listing labels is not in the native protocol yet (docs/LABELS.md).
Status LabelsNotSupported();

}  // namespace sensordb::cli
