// Project files (engine/docs/format/project_files.md): the DB's locks around catalog::
// ProjectFiles, and the writer. Every call that seals holds the project's write_mu shared (a
// drop waits for it, and it sees the drop) and the seal gate shared (a re-encryption's final
// check sees no seal in flight).
#include <mutex>
#include <shared_mutex>

#include "crypto/secret_key.h"
#include "db/db_impl.h"

namespace sensordb {
namespace {

Status Dropped(std::string_view project) {
  return Status::NotFound("project '" + std::string(project) + "' does not exist");
}

}  // namespace

class DBImpl::FileWriter final : public ProjectFileWriter {
 public:
  FileWriter(DBImpl& db, std::shared_ptr<catalog::ProjectMeta> project, uint64_t id,
             int64_t created_unix_s)
      : db_(db), project_(std::move(project)), id_(id), created_unix_s_(created_unix_s) {
    buffer_.reserve(kProjectFileChunkBytes);
  }

  ~FileWriter() override {
    if (committed_) return;
    std::shared_lock lock(project_->write_mu);
    if (!project_->dropped) db_.files_->DeleteRange(project_->id, id_).IgnoreError();
  }

  Status Append(std::string_view bytes) override {
    SENSORDB_RETURN_IF_ERROR(error_);
    if (committed_) return Status::FailedPrecondition("the file is committed");
    if (bytes.size() > kMaxProjectFileBytes - length_) {
      error_ = Status::InvalidArgument("a project file holds at most " +
                                       std::to_string(kMaxProjectFileBytes) + " bytes");
      return error_;
    }
    hash_.Update(bytes);
    length_ += bytes.size();
    while (!bytes.empty()) {
      const size_t n = std::min(bytes.size(), size_t(kProjectFileChunkBytes) - buffer_.size());
      buffer_.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
      if (buffer_.size() < kProjectFileChunkBytes) break;
      Status s = Store(/*commit=*/nullptr);
      if (!s.ok()) {
        error_ = s;
        return s;
      }
    }
    return Status::Ok();
  }

  uint64_t length() const override { return length_; }

  std::array<uint8_t, 32> sha256() const override { return hash_.Digest(); }

  Result<ProjectFileInfo> Commit(std::string_view metadata) override {
    SENSORDB_RETURN_IF_ERROR(error_);
    if (committed_) return Err(Status::FailedPrecondition("the file is committed"));
    if (metadata.size() > kMaxProjectFileMetadataBytes) {
      return Err(Status::InvalidArgument("a project file's metadata holds at most " +
                                         std::to_string(kMaxProjectFileMetadataBytes) + " bytes"));
    }
    ProjectFileInfo info;
    info.id = id_;
    info.complete = true;
    info.created_unix_s = created_unix_s_;
    info.length = length_;
    info.sha256 = sha256();
    info.metadata.assign(metadata);
    Status s = Store(&info);
    if (!s.ok()) {
      error_ = s;
      return Err(s);
    }
    committed_ = true;
    return info;
  }

 private:
  // Stores the buffered chunk (not synced), or with `commit` the last chunk and the complete
  // record (synced).
  Status Store(const ProjectFileInfo* commit) {
    std::shared_lock lock(project_->write_mu);
    if (project_->dropped) return Dropped(project_->name);
    std::shared_lock sealing(db_.seal_gate_);
    if (commit) {
      return db_.files_->Commit(project_->id, *commit, next_chunk_, buffer_);
    }
    SENSORDB_RETURN_IF_ERROR(db_.files_->PutChunk(project_->id, id_, next_chunk_, buffer_));
    ++next_chunk_;
    buffer_.clear();
    return Status::Ok();
  }

  DBImpl& db_;
  const std::shared_ptr<catalog::ProjectMeta> project_;
  const uint64_t id_;
  const int64_t created_unix_s_;
  crypto::Sha256 hash_;
  std::string buffer_;  // content not yet stored, less than one chunk
  uint32_t next_chunk_ = 0;
  uint64_t length_ = 0;
  Status error_ = Status::Ok();
  bool committed_ = false;
};

Result<std::unique_ptr<ProjectFileWriter>> DBImpl::CreateProjectFile(std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) return Err(Dropped(project));
  std::shared_lock sealing(seal_gate_);
  const int64_t now_s = clock_.NowUnixNs() / kNanosPerSecond;
  SENSORDB_ASSIGN_OR_RETURN(uint64_t id, files_->Create(p->id, now_s));
  return std::unique_ptr<ProjectFileWriter>(std::make_unique<FileWriter>(*this, p, id, now_s));
}

Result<std::vector<ProjectFileInfo>> DBImpl::ListProjectFiles(std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) return Err(Dropped(project));
  return files_->List(p->id);
}

Result<ProjectFileInfo> DBImpl::GetProjectFile(std::string_view project, uint64_t id) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) return Err(Dropped(project));
  return files_->Get(p->id, id);
}

Status DBImpl::ReadProjectFile(std::string_view project, uint64_t id, uint64_t offset,
                               uint64_t length, std::string* out) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) return Dropped(project);
  // No key version is destroyed while the read's iterator may still reach a chunk sealed with
  // it (ReencryptProject's last check holds the gate exclusively).
  std::shared_lock sealing(seal_gate_);
  return files_->Read(p->id, id, offset, length, out);
}

Status DBImpl::DeleteProjectFile(std::string_view project, uint64_t id) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) return Dropped(project);
  return files_->Delete(p->id, id);
}

}  // namespace sensordb
