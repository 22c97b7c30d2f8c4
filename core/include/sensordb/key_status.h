// What `KeyStatus` reports about the keys of encryption at rest (docs/SECURITY.md): plain
// value types, shared by the engine, the native protocol and the client.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sensordb {

struct KeyVersionStatus {
  uint32_t version = 0;
  bool active = false;            // new writes use it
  int64_t created_unix_s = 0;
  // Sealed values that still use this version: blocks and block groups (a grouped block counts
  // in its group).
  uint64_t blocks = 0;
  uint64_t head_records = 0;
  uint64_t catalog_records = 0;
  uint64_t bytes = 0;             // bytes of those values
  uint64_t file_records = 0;      // project files (firmware images): records and chunks
};

struct ProjectKeyStatus {
  std::string project;
  uint32_t project_id = 0;
  std::vector<KeyVersionStatus> versions;
};

struct KeyStatusReport {
  std::string master_key_fingerprint;
  std::string kdf;  // "key-file" or "argon2id"
  std::vector<ProjectKeyStatus> projects;
};

}  // namespace sensordb
