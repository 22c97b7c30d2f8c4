// Client: each call is the AsyncClient call and a wait for its future. The waits end because
// every pending request is completed by its reply, its timeout, or the connection closing.
#include "sensordb/client/client.h"

namespace sensordb::client {

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  SENSORDB_ASSIGN_OR_RETURN_R(std::unique_ptr<AsyncClient> async, AsyncClient::Connect(options));
  return std::unique_ptr<Client>(new Client(std::move(async)));
}

Result<WriteAck> Client::Write(std::string_view project, const WriteBatch& batch,
                               Durability durability) {
  return async_->Write(project, batch, durability).get();
}

Result<QueryStats> Client::QueryRaw(std::string_view project, const Selector& selector,
                                    const TimeRange& range, uint64_t limit, RawCallback on_run) {
  return async_->QueryRaw(project, selector, range, limit, std::move(on_run)).get();
}

Result<QueryStats> Client::Latest(std::string_view project, std::string_view device,
                                  std::string_view channel, LatestCallback on_point) {
  return async_->Latest(project, device, channel, std::move(on_point)).get();
}

Result<QueryStats> Client::Aggregate(std::string_view project, const AggregateQuery& query,
                                     AggregateCallback on_row, uint64_t limit) {
  return async_->Aggregate(project, query, std::move(on_row), limit).get();
}

Result<ProjectInfo> Client::CreateProject(std::string_view name, const ProjectOptions& options) {
  return async_->CreateProject(name, options).get();
}

Result<std::vector<ProjectInfo>> Client::ListProjects() { return async_->ListProjects().get(); }

Status Client::DropProject(std::string_view name) { return async_->DropProject(name).get(); }

Status Client::Ping() { return async_->Ping().get(); }

}  // namespace sensordb::client
