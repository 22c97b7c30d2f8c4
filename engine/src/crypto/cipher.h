// Cipher: the one seam that every value written to disk passes through (block summaries and
// data, head records, catalog entries). Issue 3's envelope encryption implements it; until
// then PlainCipher passes bytes through unchanged. The layout around a sealed value never
// depends on the cipher: callers store whatever Seal returns, length-prefixed where needed.
// Implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::crypto {

// What a sealed value is; part of the associated data so a value cannot be moved between kinds.
enum class RecordKind : uint8_t {
  kCatalog = 1,
  kHeadRecord = 2,
  kBlockSummary = 3,
  kBlockData = 4,
};

class Cipher {
 public:
  virtual ~Cipher() = default;
  // Appends the sealed form of `plaintext` to `*out`. `ad` (associated data, e.g. the RocksDB
  // key) binds the result to its place: Open with any other ad or kind fails.
  virtual Status Seal(uint32_t project, RecordKind kind, std::string_view ad,
                      std::string_view plaintext, std::string* out) const = 0;
  // Appends the plaintext of `sealed` to `*out`, or returns Corruption.
  virtual Status Open(uint32_t project, RecordKind kind, std::string_view ad,
                      std::string_view sealed, std::string* out) const = 0;
  // True when Seal returns its input unchanged (lets readers skip a copy).
  virtual bool IsPassthrough() const { return false; }
};

// No encryption: Seal and Open copy bytes. Used until a key is configured (issue 3).
std::unique_ptr<Cipher> NewPlainCipher();

}  // namespace sensordb::crypto
