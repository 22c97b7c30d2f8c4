// MQTT 3.1.1 byte streams into packets, in the direction the first byte picks (a client's
// packets as the server reads them, or a server's as a device would), cut into two reads at a
// position the second byte picks.
#include <cstdint>
#include <span>

#include "mqtt/packet_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensordb::mqtt;
  if (size < 2) return 0;
  const Sender from = (data[0] & 1) != 0 ? Sender::kServer : Sender::kClient;
  const std::span<const uint8_t> in(data + 2, size - 2);
  const size_t cut = in.empty() ? 0 : data[1] % (in.size() + 1);
  PacketDecoder decoder(from);
  for (const auto piece : {in.first(cut), in.subspan(cut)}) {
    if (!decoder.Feed(piece).ok()) break;
    while (decoder.Next()) {
    }
  }
  while (decoder.Next()) {
  }
  return 0;
}
