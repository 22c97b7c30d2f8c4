// JSON payloads (MQTT .../json, one device's readings) into a WriteBatch. The first byte picks
// the options as in line_protocol_fuzz.
#include "payload_fuzz.h"
#include "sensordb/formats/json_payload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensordb::formats;
  fuzz::RunPayload(ParseJsonPayload, "json_payload_fuzz", data, size, true);
  return 0;
}
