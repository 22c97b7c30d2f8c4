#include "auth/secret_string.h"

#include <sodium.h>

namespace sensordb::server {

void SecretString::Wipe() {
  // resize() to the capacity never reallocates, so the whole buffer, including bytes left over
  // from a longer earlier value, is wiped through a legal pointer range.
  s_.resize(s_.capacity());
  sodium_memzero(s_.data(), s_.size());
  s_.clear();
}

}  // namespace sensordb::server
