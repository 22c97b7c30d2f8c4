// The offline side of firmware signing (docs/OTA.md): a release manager's Ed25519 key, and the
// signed metadata files (roots, manifests) that each signer adds a signature to. The encodings
// are the agent's (device/include/sensordb/ota.h, protocol/firmware_format.md); this file only
// holds keys and files. Thread-compatible: a ReleaseKey may be used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"

namespace sensordb::firmware {

using PublicKey = std::array<uint8_t, 32>;
using KeyId = std::array<uint8_t, 8>;
using Signature = std::array<uint8_t, 64>;

// Initialises libsodium (every function here that needs it calls it too).
Status InitCrypto();

// Length and SHA-256 of a file (an image), streamed.
struct FileDigest {
  uint64_t length = 0;
  std::array<uint8_t, 32> sha256{};
};
Result<FileDigest> DigestFile(std::string_view path);

// Lower-case hex of bytes (key ids, public keys, hashes).
std::string Hex(std::span<const uint8_t> bytes);
KeyId KeyIdOf(const PublicKey& key);

// The secret half lives in libsodium's guarded, locked memory and is wiped when freed; on disk
// it is the 32-byte seed, in a file of mode 0600 created with O_EXCL (never overwritten).
class ReleaseKey {
 public:
  // Writes a new key to `path` and its public half to `path`.pub (hex, one line).
  static Result<ReleaseKey> Create(std::string_view path);
  // Refuses a file that others may read (mode beyond 0600) or of the wrong size.
  static Result<ReleaseKey> Load(std::string_view path);

  ReleaseKey(ReleaseKey&& other) noexcept;
  ReleaseKey& operator=(ReleaseKey&&) = delete;
  ReleaseKey(const ReleaseKey&) = delete;
  ~ReleaseKey();

  const PublicKey& public_key() const { return public_key_; }
  Signature Sign(std::span<const uint8_t> body) const;

 private:
  ReleaseKey(uint8_t* secret, const PublicKey& pk) : secret_(secret), public_key_(pk) {}
  uint8_t* secret_ = nullptr;  // 64 bytes, sodium_malloc
  PublicKey public_key_{};
};

// A public key file: 64 hex digits on one line (what ReleaseKey::Create writes beside the key).
Result<PublicKey> ReadPublicKeyFile(std::string_view path);
Status WritePublicKeyFile(std::string_view path, const PublicKey& key);

// A signed metadata file: the body and its signatures, as sdb_ota_open_signed reads them.
struct SignedFile {
  std::vector<uint8_t> body;
  std::vector<std::pair<KeyId, Signature>> signatures;
};

// Reads and checks the container (not the signatures); the message names the file.
Result<SignedFile> ReadSignedFile(std::string_view path);
// Writes through a new temporary file (mkstemp, beside `path`) moved into place, so a reader
// never sees half a file; with `replace` false an existing `path` is refused (AlreadyExists).
Status WriteSignedFile(std::string_view path, const SignedFile& file, bool replace);
std::vector<uint8_t> EncodeSignedFile(const SignedFile& file);
// Adds `key`'s signature over the body, replacing an earlier one by the same key.
Status AddSignature(SignedFile* file, const ReleaseKey& key);

}  // namespace sensordb::firmware
