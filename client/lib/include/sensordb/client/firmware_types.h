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

// Halted: by the server, when a wave's failures passed the threshold (resume or cancel it).
enum class RolloutState : uint8_t { kRunning = 1, kPaused = 2, kCancelled = 3, kHalted = 4 };

// Waves (cumulative percentages; empty: one wave of every device), the failure threshold of a
// wave in percent of its devices, and each wave's soak time (docs/OTA.md).
struct RolloutPlan {
  std::vector<uint8_t> waves;
  uint8_t failure_percent = 5;
  uint32_t soak_s = 600;
  std::string model;  // not empty: every device of this model (the release's), no device list
};

struct FirmwareRollout {
  uint64_t id = 0;
  uint64_t release = 0;
  RolloutState state = RolloutState::kRunning;
  int64_t created_unix_s = 0;
  std::vector<std::string> devices;
  RolloutPlan plan;
  uint32_t wave = 0;  // the last open wave, 0-based
  int64_t wave_opened_unix_s = 0;
  std::vector<uint8_t> device_waves;  // as `devices`
  int64_t counted_since_unix_s = 0;   // failures reported since count towards a halt
  std::vector<uint8_t> wave_key;      // a model target's: its devices' waves by a keyed hash
};

// A device's last firmware report: step 1 offered .. 7 failed (docs/OTA.md "Device reports").
struct DeviceFirmware {
  std::string device;
  uint64_t release = 0;
  uint8_t step = 0;
  std::string reason;
  std::string version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
  int64_t reported_unix_s = 0;
};

struct FirmwareListing {
  std::vector<FirmwareRelease> releases;
  std::vector<FirmwareRollout> rollouts;
};

}  // namespace sensordb::client
