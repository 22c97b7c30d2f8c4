// The envelope of every sealed value (engine/docs/format/envelope.md):
//   u8 envelope_version = 1 | varint key_version | nonce[24] | ciphertext | tag[16]
// sealed with XChaCha20-Poly1305 under the project's data key of that version, a fresh random
// nonce, and associated data "sdb1" | kind | project | key_version | the caller's place (its
// RocksDB key), so a value moved to another key, project, kind or version fails to open.
#include <sodium.h>

#include <string>

#include "crypto/cipher.h"
#include "crypto/keyring.h"
#include "sensordb/coding.h"

namespace sensordb::crypto {
namespace {

constexpr uint8_t kEnvelopeVersion = 1;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const char* KindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kCatalog: return "catalog record";
    case RecordKind::kHeadRecord: return "head record";
    case RecordKind::kBlock: return "block";
    case RecordKind::kSealRecord: return "seal record";
    case RecordKind::kSystem: return "system record";
    case RecordKind::kProjectSecret: return "project secret";
    case RecordKind::kGroup: return "block group";
    case RecordKind::kProjectFileChunk:
      return "project file chunk";
    case RecordKind::kProjectFile:
      return "project file record";
  }
  return "value";
}

// The associated data, built in a per-thread buffer to keep the write path allocation-free.
const std::string& Ad(RecordKind kind, uint32_t project, uint32_t version, std::string_view place) {
  thread_local std::string ad;
  ad.assign("sdb1");
  ad.push_back(char(kind));
  PutFixed32BE(&ad, project);
  PutFixed32BE(&ad, version);
  ad.append(place);
  return ad;
}

class EnvelopeCipher final : public Cipher {
 public:
  explicit EnvelopeCipher(const Keyring& keyring) : keyring_(keyring) {}

  Status Seal(uint32_t project, RecordKind kind, std::string_view place,
              std::string_view plaintext, std::string* out) const override {
    SENSORDB_ASSIGN_OR_RETURN(DataKey dk, keyring_.Active(project));
    const std::string& ad = Ad(kind, project, dk.version, place);
    out->push_back(char(kEnvelopeVersion));
    PutVarint64(out, dk.version);
    const size_t at = out->size();
    out->resize(at + kNonceBytes + plaintext.size() + kTagBytes);
    auto* nonce = reinterpret_cast<uint8_t*>(out->data() + at);
    randombytes_buf(nonce, kNonceBytes);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        nonce + kNonceBytes, nullptr, reinterpret_cast<const uint8_t*>(plaintext.data()),
        plaintext.size(), reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr, nonce,
        dk.key->data());
    return Status::Ok();
  }

  Status Open(uint32_t project, RecordKind kind, std::string_view place, std::string_view sealed,
              std::string* out) const override {
    uint64_t version;
    if (sealed.empty() || uint8_t(sealed[0]) != kEnvelopeVersion) {
      return Status::Corruption(std::string(KindName(kind)) + " of project " +
                                std::to_string(project) + " has no valid envelope");
    }
    sealed.remove_prefix(1);
    if (!GetVarint64(&sealed, &version) || version > UINT32_MAX ||
        sealed.size() < kNonceBytes + kTagBytes) {
      return Status::Corruption(std::string(KindName(kind)) + " of project " +
                                std::to_string(project) + " has a truncated envelope");
    }
    auto key = keyring_.Get(project, uint32_t(version));
    if (!key) {
      // Corruption, not NotFound: stored data names a key the keyring lacks (destroyed by a
      // drop or re-encryption, or the envelope was altered).
      return Status::Corruption(std::string(KindName(kind)) + " of project " +
                                std::to_string(project) + " is sealed with data key version " +
                                std::to_string(version) +
                                ", which does not exist: it has been destroyed, or the value "
                                "was altered");
    }
    const std::string& ad = Ad(kind, project, uint32_t(version), place);
    const auto* nonce = reinterpret_cast<const uint8_t*>(sealed.data());
    const size_t clen = sealed.size() - kNonceBytes;
    const size_t at = out->size();
    out->resize(at + clen - kTagBytes);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<uint8_t*>(out->data() + at), nullptr, nullptr, nonce + kNonceBytes,
            clen, reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nonce,
            key->data()) != 0) {
      out->resize(at);
      return Status::Corruption(std::string(KindName(kind)) + " of project " +
                                std::to_string(project) +
                                " fails authentication: it was altered, or moved from elsewhere");
    }
    return Status::Ok();
  }

  uint32_t KeyVersionOf(std::string_view sealed) const override {
    uint64_t version = 0;
    if (sealed.empty() || uint8_t(sealed[0]) != kEnvelopeVersion) return 0;
    sealed.remove_prefix(1);
    return GetVarint64(&sealed, &version) && version <= UINT32_MAX ? uint32_t(version) : 0;
  }

 private:
  const Keyring& keyring_;
};

}  // namespace

std::unique_ptr<Cipher> NewEnvelopeCipher(const Keyring& keyring) {
  return std::make_unique<EnvelopeCipher>(keyring);
}

}  // namespace sensordb::crypto
