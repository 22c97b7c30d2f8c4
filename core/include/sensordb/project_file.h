// Project files: immutable byte strings of a project (firmware images, docs/OTA.md), stored
// sealed in 64 KiB chunks (engine/docs/format/project_files.md). Plain value types, shared by
// the engine and the parts built on it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace sensordb {

// Content bytes per stored chunk; a range read opens only the chunks it covers.
inline constexpr uint64_t kProjectFileChunkBytes = 64 * 1024;
// Longest file, and longest metadata a file carries.
inline constexpr uint64_t kMaxProjectFileBytes = uint64_t{1} << 30;
inline constexpr uint64_t kMaxProjectFileMetadataBytes = 64 * 1024;
// The most one DB::ReadProjectFile returns (a caller reads larger ranges in steps).
inline constexpr uint64_t kMaxProjectFileReadBytes = 64 << 20;

struct ProjectFileInfo {
  uint64_t id = 0;
  // False for a file whose writer never committed (a process that died during the write):
  // never readable; DeleteProjectFile removes it.
  bool complete = false;
  int64_t created_unix_s = 0;
  uint64_t length = 0;
  std::array<uint8_t, 32> sha256{};  // of the content
  std::string metadata;              // the caller's bytes, given at commit
};

}  // namespace sensordb
