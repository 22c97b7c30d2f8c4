// Client: the blocking face of AsyncClient — the same calls, each waiting for its reply and
// returning a Result or Status. Query callbacks still run on the client's io thread while the
// calling thread waits. Thread-safe: several threads may call at once, and their requests are
// pipelined on the one connection (up to ClientOptions::max_in_flight).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "sensordb/client/async_client.h"

namespace sensordb::client {

class Client {
 public:
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  const SessionInfo& session() const { return async_->session(); }
  Status status() const { return async_->status(); }
  void Close() { async_->Close(); }
  // The asynchronous client underneath, for mixing both styles on one connection.
  AsyncClient& async() { return *async_; }

  Result<WriteAck> Write(std::string_view project, const WriteBatch& batch,
                         Durability durability = Durability::kSync);
  Result<QueryStats> QueryRaw(std::string_view project, const Selector& selector,
                              const TimeRange& range, uint64_t limit, RawCallback on_run);
  Result<QueryStats> Latest(std::string_view project, std::string_view device,
                            std::string_view channel, LatestCallback on_point);
  Result<QueryStats> Aggregate(std::string_view project, const AggregateQuery& query,
                               AggregateCallback on_row, uint64_t limit = 0);
  Result<ProjectInfo> CreateProject(std::string_view name, const ProjectOptions& options = {});
  Result<std::vector<ProjectInfo>> ListProjects();
  Status DropProject(std::string_view name);
  Status Ping();

 private:
  explicit Client(std::unique_ptr<AsyncClient> async) : async_(std::move(async)) {}
  std::unique_ptr<AsyncClient> async_;
};

}  // namespace sensordb::client
