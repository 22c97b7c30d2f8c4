// MQTT 3.1.1 strings and topics (spec 1.5.3, 4.7) and sensordb's device topics:
//   sensordb/<project>/<device>/lp     Influx line protocol (sensordb/formats/line_protocol.h)
//   sensordb/<project>/<device>/json   JSON payload (sensordb/formats/json_payload.h)
// The device level is percent-decoded, as in the certificate's URI SAN: a device named `a/b`
// publishes to `sensordb/p/a%2Fb/lp`. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::mqtt {

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates U+D800..U+DFFF, nothing
// above U+10FFFF) without U+0000, as spec 1.5.3 requires of every MQTT string.
bool IsMqttUtf8(std::string_view text);

// A topic name of a PUBLISH or a will: 1..65535 bytes, IsMqttUtf8, no wildcard `+` or `#`.
Status ValidateTopicName(std::string_view topic);
// A topic filter of a SUBSCRIBE or UNSUBSCRIBE: 1..65535 bytes, IsMqttUtf8; `+` only as a
// whole level, `#` only as the whole last level (spec 4.7.1).
Status ValidateTopicFilter(std::string_view filter);

enum class PayloadFormat : uint8_t { kLineProtocol, kJson };

struct DeviceTopic {
  std::string project;
  std::string device;  // percent-decoded
  PayloadFormat format = PayloadFormat::kLineProtocol;
};

// Splits `sensordb/<project>/<device>/lp|json`; the project must be a project name
// ([a-z0-9_-]), the device non-empty with valid %XX escapes. The caller checks both against
// the certificate.
Result<DeviceTopic> ParseDeviceTopic(std::string_view topic);
// The inverse: percent-encodes `%`, `/`, `+`, `#` and control characters of the device.
std::string FormatDeviceTopic(std::string_view project, std::string_view device,
                              PayloadFormat format);

}  // namespace sensordb::mqtt
