// The values of the firmware administration requests of the native protocol (protocol/README.md
// "Firmware administration", docs/OTA.md): a stored release and a rollout, as plain copies that
// outlive the reply frame. Plain value types.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sensordb::client {

struct FirmwareRelease {
  uint64_t id = 0;
  bool complete = false;  // false: an upload cut short (nothing else is set)
  std::string hardware_model;
  std::string version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
  uint64_t image_length = 0;
  int64_t expires_unix_s = 0;
  int64_t uploaded_unix_s = 0;
  std::array<uint8_t, 32> manifest_sha256{};
};

enum class RolloutState : uint8_t { kRunning = 1, kPaused = 2, kCancelled = 3 };

struct FirmwareRollout {
  uint64_t id = 0;
  uint64_t release = 0;
  RolloutState state = RolloutState::kRunning;
  int64_t created_unix_s = 0;
  std::vector<std::string> devices;
};

struct FirmwareListing {
  std::vector<FirmwareRelease> releases;
  std::vector<FirmwareRollout> rollouts;
};

}  // namespace sensordb::client
