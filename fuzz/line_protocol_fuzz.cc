// InfluxDB line protocol payloads (REST /write, MQTT .../lp) into a WriteBatch. The first byte
// picks the timestamp precision and whether the payload is bound to one device (MQTT).
#include "payload_fuzz.h"
#include "sensordb/formats/line_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensordb::formats;
  fuzz::RunPayload(ParseLineProtocolPayload, "line_protocol_fuzz", data, size, false);
  return 0;
}
