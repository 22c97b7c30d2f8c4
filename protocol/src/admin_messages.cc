// Administration and liveness messages (messages.h).
#include <string>

#include "sensordb/protocol/messages.h"

namespace sensordb::protocol {
namespace {

flatbuffers::Offset<wire::ProjectInfo> BuildProject(flatbuffers::FlatBufferBuilder& fbb,
                                                    const ProjectInfo& p) {
  return wire::CreateProjectInfo(fbb, p.id, fbb.CreateString(p.name), p.retention_days);
}

Result<ProjectInfo> ReadProject(const wire::ProjectInfo* p) {
  if (p == nullptr) return Err(Status::InvalidArgument("project info is missing"));
  ProjectInfo out;
  out.id = p->id();
  SENSORDB_ASSIGN_OR_RETURN(std::string_view name,
                            CheckString(p->name(), "project name", kMaxNameBytes, true));
  out.name.assign(name);
  out.retention_days = p->retention_days();
  return out;
}

// The messages without fields.
template <typename Create>
OutFrame EncodeEmpty(uint64_t request_id, wire::Message type, Create create) {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto msg = create(fbb);
  return FinishEnvelope(fbb, request_id, type, msg.Union());
}

}  // namespace

OutFrame EncodeCreateProject(uint64_t request_id, const CreateProjectRequest& request) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto name = fbb.CreateString(request.name.data(), request.name.size());
  auto msg = wire::CreateCreateProject(fbb, name, request.options.retention_days);
  return FinishEnvelope(fbb, request_id, wire::Message::CreateProject, msg.Union());
}

Result<CreateProjectRequest> DecodeCreateProject(const wire::CreateProject& request) {
  CreateProjectRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.name,
                            CheckString(request.name(), "project name", kMaxNameBytes, true));
  out.options.retention_days = request.retention_days();
  return out;
}

OutFrame EncodeCreateProjectReply(uint64_t request_id, const ProjectInfo& project) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto msg = wire::CreateCreateProjectReply(fbb, BuildProject(fbb, project));
  return FinishEnvelope(fbb, request_id, wire::Message::CreateProjectReply, msg.Union());
}

Result<ProjectInfo> DecodeCreateProjectReply(const wire::CreateProjectReply& reply) {
  return ReadProject(reply.project());
}

OutFrame EncodeListProjects(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::ListProjects,
                     [](auto& fbb) { return wire::CreateListProjects(fbb); });
}

OutFrame EncodeListProjectsReply(uint64_t request_id, std::span<const ProjectInfo> projects) {
  flatbuffers::FlatBufferBuilder fbb(128 + 96 * projects.size());
  std::vector<flatbuffers::Offset<wire::ProjectInfo>> offsets;
  offsets.reserve(projects.size());
  for (const ProjectInfo& p : projects) offsets.push_back(BuildProject(fbb, p));
  auto msg = wire::CreateListProjectsReply(fbb, fbb.CreateVector(offsets));
  return FinishEnvelope(fbb, request_id, wire::Message::ListProjectsReply, msg.Union());
}

Result<std::vector<ProjectInfo>> DecodeListProjectsReply(const wire::ListProjectsReply& reply) {
  std::vector<ProjectInfo> out;
  if (reply.projects() == nullptr) return out;
  out.reserve(reply.projects()->size());
  for (const wire::ProjectInfo* p : *reply.projects()) {
    SENSORDB_ASSIGN_OR_RETURN(ProjectInfo info, ReadProject(p));
    out.push_back(std::move(info));
  }
  return out;
}

OutFrame EncodeDropProject(uint64_t request_id, std::string_view name) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto msg = wire::CreateDropProject(fbb, fbb.CreateString(name.data(), name.size()));
  return FinishEnvelope(fbb, request_id, wire::Message::DropProject, msg.Union());
}

Result<std::string_view> DecodeDropProject(const wire::DropProject& request) {
  return CheckString(request.name(), "project name", kMaxNameBytes, true);
}

OutFrame EncodeDropProjectReply(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::DropProjectReply,
                     [](auto& fbb) { return wire::CreateDropProjectReply(fbb); });
}

OutFrame EncodePing(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::Ping,
                     [](auto& fbb) { return wire::CreatePing(fbb); });
}

OutFrame EncodePong(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::Pong,
                     [](auto& fbb) { return wire::CreatePong(fbb); });
}

}  // namespace sensordb::protocol
