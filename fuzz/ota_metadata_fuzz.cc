// Firmware metadata as a device receives it (docs/OTA.md, protocol/firmware_format.md): the
// signed container, and its body decoded as a root, a manifest and a freshness statement; then
// the same bytes against a provisioned device (device/tests/ota_fixture.h) as a root rotation, an
// offer answering the pending nonce 00..0f, and a manifest to install from a slot holding the
// fixture's image, with the fixture's manifest offered.
// Checks: a body that decodes re-encodes to exactly its bytes (one encoding per value), and a
// refused input leaves the device's store as it was.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ota_fixture.h"
#include "sensordb/ota.h"

namespace sensordb::ota_fuzz {
namespace {

const Fixture* fixture = nullptr;
sdb_ota_store provisioned{};

void Check(bool ok) {
  if (!ok) std::abort();
}

template <typename T, typename Dec, typename Enc>
void RoundTrip(const uint8_t* data, size_t size, Dec decode, Enc encode) {
  T v;
  if (decode(data, size, &v) != SDB_OTA_OK) return;
  const Bytes again = Encode(v, encode);
  Check(again.size() == size && std::memcmp(again.data(), data, size) == 0);
}

void Decoders(const uint8_t* data, size_t size) {
  RoundTrip<sdb_ota_root>(data, size, sdb_ota_decode_root, sdb_ota_encode_root);
  RoundTrip<sdb_ota_manifest>(data, size, sdb_ota_decode_manifest, sdb_ota_encode_manifest);
  RoundTrip<sdb_ota_freshness>(data, size, sdb_ota_decode_freshness, sdb_ota_encode_freshness);
}

// Calls `step` on a copy of the provisioned store; when it refuses, the copy must be unchanged.
template <typename F>
void OnDevice(F step) {
  sdb_ota_store store = provisioned;
  if (step(&store) != SDB_OTA_OK) Check(std::memcmp(&store, &provisioned, sizeof store) == 0);
}

}  // namespace
}  // namespace sensordb::ota_fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace sensordb::ota_fuzz;
  if (sdb_ota_init() != SDB_OTA_OK) std::abort();
  fixture = new Fixture();
  if (!fixture->Provision(&provisioned)) std::abort();
  static const uint8_t nonce[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  fixture->PendRequest(&provisioned, nonce);
  fixture->RecordOffer(&provisioned);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensordb::ota_fuzz;
  Decoders(data, size);
  sdb_ota_signed s;
  if (sdb_ota_open_signed(data, size, &s) == SDB_OTA_OK) {
    Decoders(s.body, s.body_len);
    const Bytes again = Encode(s, sdb_ota_encode_signed);
    Check(again.size() == size && std::memcmp(again.data(), data, size) == 0);
  }
  OnDevice([&](sdb_ota_store* st) { return sdb_ota_accept_root(st, data, size); });
  OnDevice([&](sdb_ota_store* st) { return sdb_ota_accept_freshness(st, data, size, nullptr); });
  OnDevice([&](sdb_ota_store* st) {
    return sdb_ota_install(st, data, size, Fixture::Read, const_cast<Fixture*>(fixture));
  });
  return 0;
}
