// DeviceRegistry: device identity of every project (docs/DEVICES.md "Identity", "Registry",
// "Admission") — the project's device CA (its key a DB project secret, sealed under the
// project's data key), enrolment from a CSR, the certificates issued and the devices' status in
// the SystemStore (SystemSpace::kDevices, sealed under the system key), revocation, and
// DeviceAuthority for the device listener. Management calls check the actor's role
// (kManageDevices to change, kQuery to list) and audit every change in the same atomic write.
// Admit reads only memory: every record is loaded at Open and kept up to date by the calls that
// change it. Thread-safe. Borrows the DB and the AuthService, which must outlive it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/auth_service.h"
#include "devices/device_authority.h"
#include "firmware/firmware_store.h"
#include "identity/device_ca.h"
#include "sensordb/db.h"

namespace sensordb::server {

struct DeviceRegistryOptions {
  uint32_t default_cert_days = 365;                // devices.cert_days
  int64_t seen_interval_ns = 60'000'000'000;       // last-seen is stored at most this often
};

// What Enroll returns: the certificate and the CA that issued it (the chain a device presents).
struct EnrolledCertificate {
  std::string certificate_pem;
  std::string chain_pem;  // the project's device CA certificate
  std::string serial;     // hex
  std::string fingerprint;
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
};

// One certificate as ListCertificates shows it, with its device's state.
struct DeviceCertificateInfo {
  std::string device;
  std::string serial;
  std::string fingerprint;
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
  int64_t issued_ns = 0;
  int64_t revoked_ns = 0;    // 0: not revoked
  int64_t last_seen_ns = 0;  // of the device; 0: never
  bool device_revoked = false;
  std::string model;             // from the catalog's device record
  std::string firmware_version;  // likewise
};

// A rollout as the metrics show it (docs/SERVER.md "Metrics"): by project id, never by name.
struct RolloutStatus {
  uint32_t project_id = 0;
  uint64_t rollout = 0;
  firmware::RolloutState state = firmware::RolloutState::kRunning;
  uint32_t open_wave = 0;  // 0-based
  uint32_t waves = 0;
  // Devices by the step they last reported for the rollout's release ([0]: no report).
  std::array<uint32_t, firmware::kMaxFirmwareStep + 1> steps{};
};

class DeviceRegistry final : public DeviceAuthority {
 public:
  // Loads every device CA, certificate record and device record.
  static Result<std::unique_ptr<DeviceRegistry>> Open(DB& db, AuthService& auth,
                                                      DeviceRegistryOptions options = {});
  ~DeviceRegistry() override;

  // The project's device CA certificate (PEM), made first if the project has none (needs
  // kManageDevices then, and is audited as device-ca-created); reading an existing one needs
  // kQuery. The certificate is public; its key never leaves the DB.
  Result<std::string> EnsureCa(const Actor& actor, std::string_view project);

  // Signs the CSR (device_ca.h SignDeviceCsr) for `device`, registering the device in the
  // catalog if it is not there yet, and records the certificate. `days` 0: the default. An
  // enrolled device keeps its older certificates (renewal); a revoked device enrolled again is
  // active again with the new certificate only. Needs kManageDevices.
  Result<EnrolledCertificate> Enroll(const Actor& actor, std::string_view project,
                                     std::string_view device, std::string_view csr_pem,
                                     uint32_t days);
  // Certificates of the project, or of one device, by device then issue time. Needs kQuery.
  Result<std::vector<DeviceCertificateInfo>> ListCertificates(const Actor& actor,
                                                              std::string_view project,
                                                              std::string_view device = {});
  // Revokes one certificate (idempotent) or the device with all its certificates; watchers are
  // told at once. Need kManageDevices.
  Status RevokeCertificate(const Actor& actor, std::string_view project, std::string_view device,
                           std::string_view serial);
  Status RevokeDevice(const Actor& actor, std::string_view project, std::string_view device);
  // The last firmware report of each device of the project that reported (or of one device), by
  // device name. Needs kQuery.
  Result<std::vector<std::pair<std::string, FirmwareReport>>> ListFirmware(
      const Actor& actor, std::string_view project, std::string_view device = {});
  // Every rollout not cancelled of every project, with its devices' last reports; for the
  // metrics (no actor: they name projects by id only). A project whose rollouts cannot be read
  // is left out (the metrics are not where a damaged secret is reported: every request that
  // reads it refuses, naming it).
  std::vector<RolloutStatus> RolloutStatuses();
  // After DB::DropProject: forgets the project's CA and deletes its records (the CA key went
  // with the project's data key); watchers are told.
  Status ProjectDropped(uint32_t project_id);

  // DeviceAuthority.
  std::vector<std::string> CaCertificates() override;
  uint64_t CaGeneration() const override { return ca_generation_.load(); }
  Result<DeviceIdentity> Admit(std::span<const uint8_t> leaf_der, int64_t now_ns) override;
  void Seen(const DeviceIdentity& device, int64_t now_ns) override;
  Status ReportFirmware(const DeviceIdentity& device, const FirmwareReport& report) override;
  uint64_t WatchRevocations(RevocationFn fn) override;
  void Unwatch(uint64_t handle) override;

  // Stored records (SystemSpace::kDevices), public for the tests and docs/DEVICES.md.
  struct CertRecord {
    uint32_t project_id = 0;
    std::string device;
    std::string serial;
    std::string fingerprint;
    int64_t not_before_ns = 0;
    int64_t not_after_ns = 0;
    int64_t issued_ns = 0;
    int64_t revoked_ns = 0;
    std::string issued_by;
  };
  struct DeviceRecord {
    uint32_t project_id = 0;
    std::string device;
    bool revoked = false;
    int64_t enrolled_ns = 0;
    int64_t revoked_ns = 0;
    int64_t last_seen_ns = 0;
  };

 private:
  struct Ca {
    uint32_t project_id = 0;
    std::shared_ptr<const DeviceCaCert> cert;
  };
  using DeviceKey = std::pair<uint32_t, std::string>;

  DeviceRegistry(DB& db, AuthService& auth, DeviceRegistryOptions options)
      : db_(db), auth_(auth), options_(options) {}
  Status Load();
  // The project as Grants wants it, checked for `op`; its info on success.
  Result<ProjectInfo> Authorize(const Actor& actor, std::string_view project, Operation op);
  // The project's CA, made (and audited) if missing. Caller holds change_mu_.
  Result<std::shared_ptr<const DeviceCaCert>> EnsureCaLocked(const Actor& actor,
                                                             const ProjectInfo& project);
  std::shared_ptr<const DeviceCaCert> FindCa(const ProjectInfo& project) const;
  Status Persist(const Actor& actor, AuditAction action, uint32_t project_id, std::string detail,
                 const std::vector<CertRecord>& certs, const std::vector<DeviceRecord>& devices);
  void Notify(uint32_t project_id, std::string_view device, std::string_view serial);
  // Each device's last report of the project, as a rollout counts it, and the devices that
  // reported (a model target's population).
  firmware::StepOf StepsOf(uint32_t project_id);
  std::vector<std::string> Reporters(uint32_t project_id);
  // After a failure report: halts the rollouts it pushed past their threshold, audited. An
  // error when the rollouts could not be read or stored (the device sends its report again).
  Status HaltFailingRollouts(const DeviceIdentity& device, const FirmwareReport& report);

  DB& db_;
  AuthService& auth_;
  const DeviceRegistryOptions options_;
  std::atomic<uint64_t> ca_generation_{1};

  std::mutex change_mu_;  // serialises every change (read-modify-write of records)
  mutable std::shared_mutex mu_;
  std::map<std::string, Ca, std::less<>> cas_;                // GUARDED_BY(mu_), by project name
  std::unordered_map<std::string, CertRecord> certs_;         // GUARDED_BY(mu_), by serial
  std::map<DeviceKey, DeviceRecord> devices_;                 // GUARDED_BY(mu_)
  std::map<DeviceKey, int64_t> last_seen_;                    // GUARDED_BY(mu_), not yet stored
  std::map<DeviceKey, FirmwareReport> firmware_;              // GUARDED_BY(mu_), last reports

  std::mutex watch_mu_;
  uint64_t next_watch_ = 1;                     // GUARDED_BY(watch_mu_)
  std::map<uint64_t, RevocationFn> watchers_;   // GUARDED_BY(watch_mu_)
};

}  // namespace sensordb::server
