// ProjectFiles: the stored form of project files (engine/docs/format/project_files.md) — a
// sealed file record and sealed 64 KiB content chunks per file, in the `files` column family.
// The DB holds the project's locks and the seal gate around every call and keeps one writer
// per file. Borrows the store and the cipher, which must outlive it. Thread-safe: a mutex
// serialises every change (create, chunk, commit, delete) with re-sealing, so a re-sealed copy
// never overwrites a newer write or brings back a deleted file; reads need no lock (one
// iterator sees one moment).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/cipher.h"
#include "sensordb/key_status.h"
#include "sensordb/project_file.h"
#include "sensordb/status.h"
#include "store/store.h"

namespace sensordb::catalog {

class ProjectFiles {
 public:
  ProjectFiles(store::Store& store, const crypto::Cipher& cipher)
      : store_(store), cipher_(cipher) {}

  // Records a new file in state "writing" (synced); returns its id.
  Result<uint64_t> Create(uint32_t project, int64_t created_unix_s);
  // Stores chunk `index` of the file (not synced). NotFound when the file was deleted.
  Status PutChunk(uint32_t project, uint64_t id, uint32_t index, std::string_view bytes);
  // Stores the final chunk (when `last` is not empty, as chunk `last_index`) and the complete
  // file record `info` in one synced write. NotFound when the file was deleted meanwhile.
  Status Commit(uint32_t project, const ProjectFileInfo& info, uint32_t last_index,
                std::string_view last);
  Result<std::vector<ProjectFileInfo>> List(uint32_t project);
  Result<ProjectFileInfo> Get(uint32_t project, uint64_t id);
  Status Read(uint32_t project, uint64_t id, uint64_t offset, uint64_t length, std::string* out);
  // Deletes the file's record and chunks (synced); NotFound when it has neither.
  Status Delete(uint32_t project, uint64_t id);
  // As Delete, Ok when there is nothing (a writer's cleanup).
  Status DeleteRange(uint32_t project, uint64_t id);
  // Counts the project's file records by key version (file_records, bytes).
  Status Census(uint32_t project, const std::function<KeyVersionStatus&(uint32_t version)>& entry);
  // Re-seals every record of the project's files sealed below `newest`.
  Status Reseal(uint32_t project, uint32_t newest);

 private:
  Result<ProjectFileInfo> OpenRecord(uint32_t project, std::string_view key,
                                     std::string_view value);
  // Whether any record of the file is stored.
  Result<bool> HasAny(uint32_t project, uint64_t id);
  // Ok while the file's record is stored and in state "writing". Caller holds mu_.
  Status CheckWriting(uint32_t project, uint64_t id);
  Status DeleteLocked(uint32_t project, uint64_t id);

  store::Store& store_;
  const crypto::Cipher& cipher_;
  std::mutex mu_;
};

// The key of a file's record, and of one of its chunks.
std::string ProjectFileKey(uint32_t project, uint64_t id);
std::string ProjectFileChunkKey(uint32_t project, uint64_t id, uint32_t index);

}  // namespace sensordb::catalog
