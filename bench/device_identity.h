// The identities of a simulated fleet: every device gets its own ECDSA P-256 key and CSR, made
// in memory as a manufacturing line's tool would (`sensordb device keygen`), and is enrolled over
// the native client protocol with an admin token (EnrollDevice, docs/DEVICES.md). Key and
// certificate stay in memory for the device's TLS sessions; a key is never written or printed.
// Thread-safe: EnrollFleet runs its own threads; a DeviceIdentity is immutable once made and
// its key and certificate may be used by any number of TLS sessions at once (OpenSSL
// reference-counts them).
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "error_tally.h"
#include "sensordb/client/client_options.h"
#include "sensordb/status.h"

namespace sensordb::bench {

struct KeyFree {
  void operator()(EVP_PKEY* key) const;
};
struct CertificateFree {
  void operator()(X509* cert) const;
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertificatePtr = std::unique_ptr<X509, CertificateFree>;

struct DeviceIdentity {
  std::string device;
  KeyPtr key;                  // the device's own private key
  CertificatePtr certificate;  // issued by the project's device CA; null when enrolment failed
};

// A new P-256 key and a PEM CSR for it (CN=<device>, O=<project>), signed with the key.
struct KeyAndCsr {
  KeyPtr key;
  std::string csr_pem;
};
Result<KeyAndCsr> MakeKeyAndCsr(std::string_view project, std::string_view device);

struct EnrolmentReport {
  std::vector<DeviceIdentity> devices;  // in the order of the names given
  uint64_t enrolled = 0;
  double seconds = 0;  // key generation and enrolment, wall time
  ErrorTally failures;
};

// Enrols every device of `names` in `project` (which must exist), over `connections` client
// connections (a connection serves one request at a time; several run in parallel) with up to
// `window` requests in flight each. `admin` must log in as an owner or admin of the project.
// An error only when no connection could be opened; a device that fails is counted in
// `failures` and keeps a null certificate.
Result<EnrolmentReport> EnrollFleet(const client::ClientOptions& admin, std::string_view project,
                                    const std::vector<std::string>& names, int connections,
                                    uint32_t window);

}  // namespace sensordb::bench
