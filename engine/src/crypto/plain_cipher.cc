#include "crypto/cipher.h"

namespace sensordb::crypto {
namespace {

class PlainCipher final : public Cipher {
 public:
  Status Seal(uint32_t, RecordKind, std::string_view, std::string_view plaintext,
              std::string* out) const override {
    out->append(plaintext);
    return Status::Ok();
  }
  Status Open(uint32_t, RecordKind, std::string_view, std::string_view sealed,
              std::string* out) const override {
    out->append(sealed);
    return Status::Ok();
  }
  bool IsPassthrough() const override { return true; }
  uint32_t KeyVersionOf(std::string_view) const override { return 0; }
};

}  // namespace

std::unique_ptr<Cipher> NewPlainCipher() { return std::make_unique<PlainCipher>(); }

}  // namespace sensordb::crypto
