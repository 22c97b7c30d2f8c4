// Cipher: the one seam that every value written to disk passes through (blocks, head records,
// catalog entries). The envelope cipher seals with per-project data keys; the plain cipher
// exists for tests and benchmarks. The layout around a sealed value never
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
  kBlock = 3,
  kSealRecord = 4,
  kSystem = 5,
  kProjectSecret = 6,
  kGroup = 7,             // a group of short blocks (engine/docs/format/block_group.md)
  kProjectFileChunk = 8,  // content of a project file (engine/docs/format/project_files.md)
  kProjectFile = 9,       // a project file's record: state, length, hash, metadata
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
  // The data key version a sealed value names, without opening it (0 for plaintext).
  virtual uint32_t KeyVersionOf(std::string_view sealed) const = 0;
};

// No encryption: Seal and Open copy bytes. Tests and benchmarks only
// (Options::insecure_plaintext_for_testing).
std::unique_ptr<Cipher> NewPlainCipher();

class Keyring;
// XChaCha20-Poly1305 under each project's data key (engine/docs/format/envelope.md).
// `keyring` must outlive the cipher.
std::unique_ptr<Cipher> NewEnvelopeCipher(const Keyring& keyring);

}  // namespace sensordb::crypto
