#include "catalog/project_files.h"

#include <fmt/format.h>

#include <algorithm>

#include "crypto/secret_key.h"
#include "sensordb/coding.h"
#include "store/keys.h"

namespace sensordb::catalog {
namespace {

using store::Cf;

constexpr uint8_t kFileVersion = 1;
constexpr uint8_t kWriting = 0;
constexpr uint8_t kComplete = 1;
constexpr size_t kRecordKeySize = 12;
constexpr size_t kChunkKeySize = 16;
static_assert(kMaxProjectFileBytes / kProjectFileChunkBytes < (uint64_t{1} << 32),
              "chunk indexes are u32");

std::string Where(uint32_t project, uint64_t id) {
  return fmt::format("project {} file {:016x}", project, id);
}

std::string EncodeRecord(const ProjectFileInfo& f, uint64_t chunks) {
  std::string v(1, char(kFileVersion));
  v.push_back(char(f.complete ? kComplete : kWriting));
  PutVarint64(&v, ZigZagEncode(f.created_unix_s));
  PutVarint64(&v, f.length);
  PutVarint64(&v, chunks);
  v.append(reinterpret_cast<const char*>(f.sha256.data()), f.sha256.size());
  PutLengthPrefixed(&v, f.metadata);
  return v;
}

uint64_t ChunksOf(uint64_t length) {
  return (length + kProjectFileChunkBytes - 1) / kProjectFileChunkBytes;
}

}  // namespace

std::string ProjectFileKey(uint32_t project, uint64_t id) {
  std::string k = store::ProjectPrefix(project);
  PutFixed64BE(&k, id);
  return k;
}

std::string ProjectFileChunkKey(uint32_t project, uint64_t id, uint32_t index) {
  std::string k = ProjectFileKey(project, id);
  PutFixed32BE(&k, index);
  return k;
}

Result<ProjectFileInfo> ProjectFiles::OpenRecord(uint32_t project, std::string_view key,
                                                 std::string_view value) {
  const uint64_t id = DecodeFixed64BE(key.data() + 4);
  std::string plain;
  Status s = cipher_.Open(project, crypto::RecordKind::kProjectFile, key, value, &plain);
  if (!s.ok()) return Err(Status(s.code(), Where(project, id) + ": record: " + s.message()));
  std::string_view in(plain);
  ProjectFileInfo f;
  f.id = id;
  uint64_t created = 0, chunks = 0;
  std::string_view metadata;
  const bool ok = in.size() >= 2 && uint8_t(in[0]) == kFileVersion && uint8_t(in[1]) <= 1;
  if (ok) {
    f.complete = uint8_t(in[1]) == kComplete;
    in.remove_prefix(2);
  }
  if (!ok || !GetVarint64(&in, &created) || !GetVarint64(&in, &f.length) ||
      !GetVarint64(&in, &chunks) || in.size() < f.sha256.size()) {
    return Err(Status::Corruption(Where(project, id) + ": record is malformed"));
  }
  std::copy_n(in.data(), f.sha256.size(), reinterpret_cast<char*>(f.sha256.data()));
  in.remove_prefix(f.sha256.size());
  if (!GetLengthPrefixed(&in, &metadata) || !in.empty() || chunks != ChunksOf(f.length) ||
      f.length > kMaxProjectFileBytes) {
    return Err(Status::Corruption(Where(project, id) + ": record is malformed"));
  }
  f.created_unix_s = ZigZagDecode(created);
  f.metadata.assign(metadata);
  return f;
}

Result<uint64_t> ProjectFiles::Create(uint32_t project, int64_t created_unix_s) {
  std::lock_guard lock(mu_);
  uint64_t id = 0;
  for (;;) {  // a fresh id: never another file's
    crypto::RandomBytes({reinterpret_cast<uint8_t*>(&id), sizeof(id)});
    if (id == 0) continue;
    SENSORDB_ASSIGN_OR_RETURN(bool used, HasAny(project, id));
    if (!used) break;
  }
  ProjectFileInfo f;
  f.id = id;
  f.created_unix_s = created_unix_s;
  const std::string key = ProjectFileKey(project, id);
  std::string sealed;
  SENSORDB_RETURN_IF_ERROR(
      cipher_.Seal(project, crypto::RecordKind::kProjectFile, key, EncodeRecord(f, 0), &sealed));
  auto batch = store_.NewBatch();
  batch.Put(Cf::kFiles, key, sealed);
  SENSORDB_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  return id;
}

Status ProjectFiles::PutChunk(uint32_t project, uint64_t id, uint32_t index,
                              std::string_view bytes) {
  std::lock_guard lock(mu_);
  // The record's presence is enough here (a committed file has no writer left to call this);
  // its state is checked once, at the commit.
  SENSORDB_ASSIGN_OR_RETURN(auto record, store_.Get(Cf::kFiles, ProjectFileKey(project, id)));
  if (!record) return Status::NotFound(Where(project, id) + " was deleted during its write");
  const std::string key = ProjectFileChunkKey(project, id, index);
  std::string sealed;
  SENSORDB_RETURN_IF_ERROR(
      cipher_.Seal(project, crypto::RecordKind::kProjectFileChunk, key, bytes, &sealed));
  auto batch = store_.NewBatch();
  batch.Put(Cf::kFiles, key, sealed);
  return store_.Write(batch, /*sync=*/false);
}

Status ProjectFiles::Commit(uint32_t project, const ProjectFileInfo& info, uint32_t last_index,
                            std::string_view last) {
  std::lock_guard lock(mu_);
  SENSORDB_RETURN_IF_ERROR(CheckWriting(project, info.id));
  auto batch = store_.NewBatch();
  std::string sealed;
  if (!last.empty()) {
    const std::string key = ProjectFileChunkKey(project, info.id, last_index);
    SENSORDB_RETURN_IF_ERROR(
        cipher_.Seal(project, crypto::RecordKind::kProjectFileChunk, key, last, &sealed));
    batch.Put(Cf::kFiles, key, sealed);
  }
  const std::string key = ProjectFileKey(project, info.id);
  sealed.clear();
  SENSORDB_RETURN_IF_ERROR(cipher_.Seal(project, crypto::RecordKind::kProjectFile, key,
                                        EncodeRecord(info, ChunksOf(info.length)), &sealed));
  batch.Put(Cf::kFiles, key, sealed);
  return store_.Write(batch, /*sync=*/true);
}

Result<std::vector<ProjectFileInfo>> ProjectFiles::List(uint32_t project) {
  const std::string prefix = store::ProjectPrefix(project);
  std::vector<ProjectFileInfo> files;
  auto it = store_.NewIterator(Cf::kFiles);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != kRecordKeySize) continue;  // a chunk
    SENSORDB_ASSIGN_OR_RETURN(auto f, OpenRecord(project, it->key(), it->value()));
    files.push_back(std::move(f));
  }
  SENSORDB_RETURN_IF_ERROR(it->status());
  return files;
}

Result<ProjectFileInfo> ProjectFiles::Get(uint32_t project, uint64_t id) {
  const std::string key = ProjectFileKey(project, id);
  SENSORDB_ASSIGN_OR_RETURN(auto value, store_.Get(Cf::kFiles, key));
  if (!value) return Err(Status::NotFound(fmt::format("no file {:016x} in the project", id)));
  return OpenRecord(project, key, *value);
}

Status ProjectFiles::Read(uint32_t project, uint64_t id, uint64_t offset, uint64_t length,
                          std::string* out) {
  // One iterator: the record and its chunks as of one moment, so a concurrent delete reads
  // as "no file", never as a missing chunk.
  auto it = store_.NewIterator(Cf::kFiles);
  const std::string record_key = ProjectFileKey(project, id);
  it->Seek(record_key);
  if (!it->Valid() || it->key() != record_key) {
    SENSORDB_RETURN_IF_ERROR(it->status());
    return Status::NotFound(fmt::format("no file {:016x} in the project", id));
  }
  SENSORDB_ASSIGN_OR_RETURN(const ProjectFileInfo f, OpenRecord(project, it->key(), it->value()));
  if (!f.complete) {
    return Status::FailedPrecondition(Where(project, id) +
                                      " is incomplete: its writer never committed it");
  }
  if (offset > f.length) {
    return Status::InvalidArgument(fmt::format("{}: offset {} is past its end ({} bytes)",
                                               Where(project, id), offset, f.length));
  }
  const uint64_t n = std::min(length, f.length - offset);
  if (n > kMaxProjectFileReadBytes) {
    return Status::InvalidArgument(
        fmt::format("a read returns at most {} bytes; {} were asked", kMaxProjectFileReadBytes, n));
  }
  if (n == 0) {
    out->clear();
    return Status::Ok();
  }
  const uint64_t end = offset + n;
  std::string result;
  result.reserve(n);
  std::string plain;
  uint64_t c = offset / kProjectFileChunkBytes;
  it->Seek(ProjectFileChunkKey(project, id, uint32_t(c)));
  for (; c * kProjectFileChunkBytes < end; ++c, it->Next()) {
    const uint64_t begin_c = c * kProjectFileChunkBytes;
    const uint64_t end_c = std::min(f.length, begin_c + kProjectFileChunkBytes);
    // Formatted only for an error: the loop is a download's path.
    const auto where = [&] {
      return fmt::format("{}: chunk {} (bytes {}-{})", Where(project, id), c, begin_c, end_c - 1);
    };
    const std::string key = ProjectFileChunkKey(project, id, uint32_t(c));
    if (!it->Valid() || it->key() != key) {
      SENSORDB_RETURN_IF_ERROR(it->status());
      return Status::Corruption(where() + " is missing");
    }
    plain.clear();
    Status s =
        cipher_.Open(project, crypto::RecordKind::kProjectFileChunk, key, it->value(), &plain);
    if (!s.ok()) return Status(s.code(), where() + ": " + s.message());
    if (plain.size() != end_c - begin_c) {
      return Status::Corruption(where() + fmt::format(" holds {} bytes", plain.size()));
    }
    const uint64_t from = std::max(offset, begin_c) - begin_c;
    const uint64_t to = std::min(end, end_c) - begin_c;
    result.append(plain, from, to - from);
  }
  *out = std::move(result);
  return Status::Ok();
}

Status ProjectFiles::Delete(uint32_t project, uint64_t id) {
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(bool any, HasAny(project, id));
  if (!any) return Status::NotFound(fmt::format("no file {:016x} in the project", id));
  return DeleteLocked(project, id);
}

Status ProjectFiles::DeleteRange(uint32_t project, uint64_t id) {
  std::lock_guard lock(mu_);
  return DeleteLocked(project, id);
}

Status ProjectFiles::DeleteLocked(uint32_t project, uint64_t id) {
  const std::string begin = ProjectFileKey(project, id);
  auto batch = store_.NewBatch();
  batch.DeleteRange(Cf::kFiles, begin, store::PrefixEnd(begin));
  return store_.Write(batch, /*sync=*/true);
}

Result<bool> ProjectFiles::HasAny(uint32_t project, uint64_t id) {
  const std::string prefix = ProjectFileKey(project, id);
  auto it = store_.NewIterator(Cf::kFiles);
  it->Seek(prefix);
  const bool any = it->Valid() && it->key().starts_with(prefix);
  SENSORDB_RETURN_IF_ERROR(it->status());
  return any;
}

Status ProjectFiles::CheckWriting(uint32_t project, uint64_t id) {
  const std::string key = ProjectFileKey(project, id);
  SENSORDB_ASSIGN_OR_RETURN(auto value, store_.Get(Cf::kFiles, key));
  if (!value) {
    return Status::NotFound(Where(project, id) + " was deleted during its write");
  }
  SENSORDB_ASSIGN_OR_RETURN(const ProjectFileInfo f, OpenRecord(project, key, *value));
  if (f.complete) return Status::FailedPrecondition(Where(project, id) + " is committed");
  return Status::Ok();
}

Status ProjectFiles::Census(uint32_t project,
                            const std::function<KeyVersionStatus&(uint32_t version)>& entry) {
  const std::string prefix = store::ProjectPrefix(project);
  auto it = store_.NewIterator(Cf::kFiles);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto& e = entry(cipher_.KeyVersionOf(it->value()));
    ++e.file_records;
    e.bytes += it->value().size();
  }
  return it->status();
}

Status ProjectFiles::Reseal(uint32_t project, uint32_t newest) {
  // Held for the whole pass: no file is created, written, committed or deleted meanwhile, so
  // what the iterator read is what is stored when its re-sealed copy is written back.
  std::lock_guard lock(mu_);
  const std::string prefix = store::ProjectPrefix(project);
  auto batch = store_.NewBatch();
  auto it = store_.NewIterator(Cf::kFiles);
  std::string plain, sealed;
  uint64_t done = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (cipher_.KeyVersionOf(it->value()) >= newest) continue;
    const std::string_view key = it->key();
    if (key.size() != kRecordKeySize && key.size() != kChunkKeySize) {
      return Status::Corruption(
          fmt::format("project {}: malformed file key of {} bytes", project, key.size()));
    }
    const auto kind = key.size() == kRecordKeySize ? crypto::RecordKind::kProjectFile
                                                   : crypto::RecordKind::kProjectFileChunk;
    plain.clear();
    sealed.clear();
    Status s = cipher_.Open(project, kind, key, it->value(), &plain);
    if (s.ok()) s = cipher_.Seal(project, kind, key, plain, &sealed);
    if (!s.ok()) {
      return Status(s.code(), Where(project, DecodeFixed64BE(key.data() + 4)) + ": " + s.message());
    }
    batch.Put(Cf::kFiles, key, sealed);
    if (++done % 64 == 0) {  // at most 4 MiB per batch
      SENSORDB_RETURN_IF_ERROR(store_.Write(batch, false));
      batch.Clear();
    }
  }
  SENSORDB_RETURN_IF_ERROR(it->status());
  return store_.Write(batch, /*sync=*/true);
}

}  // namespace sensordb::catalog
