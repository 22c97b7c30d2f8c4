// Small files replaced atomically and durably, and read back whole. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb {

// Replaces `path` with `bytes`: a temp file beside it, written in full, fsynced, renamed over
// `path`, then the directory fsynced. A crash leaves the old file or the new one, whole.
Status ReplaceFileDurably(const std::string& path, std::string_view bytes);

// The whole file, or nullopt when it does not exist; larger than `max_bytes` is Corruption.
Result<std::optional<std::string>> ReadWholeFile(const std::string& path, size_t max_bytes);

}  // namespace sensordb
