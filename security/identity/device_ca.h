// The x509 side of device identity (docs/DEVICES.md "Identity"): a project's device CA, signing
// a device's CSR, reading the identity a device certificate carries, checking who issued it, and
// making a device key and CSR (`sensordb device keygen`). OpenSSL 3 is wrapped here only; no
// OpenSSL type appears in this header. Every input is bounded before OpenSSL parses it.
// Functions are thread-safe (no shared state); a DeviceCaCert is immutable once made and may be
// used from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb {

inline constexpr size_t kMaxCsrBytes = 16 * 1024;          // PEM
inline constexpr size_t kMaxCertificateBytes = 16 * 1024;  // PEM or DER
inline constexpr uint32_t kDeviceCaDays = 3650;
inline constexpr uint32_t kMaxDeviceCertDays = kDeviceCaDays;

// A PEM private key in memory; its bytes are wiped (OPENSSL_cleanse) when it dies. Move-only.
class PrivateKeyPem {
 public:
  PrivateKeyPem() = default;
  explicit PrivateKeyPem(std::string pem) : pem_(std::move(pem)) {}
  PrivateKeyPem(PrivateKeyPem&& o) noexcept : pem_(std::move(o.pem_)) { o.pem_.clear(); }
  PrivateKeyPem& operator=(PrivateKeyPem&& o) noexcept;
  PrivateKeyPem(const PrivateKeyPem&) = delete;
  PrivateKeyPem& operator=(const PrivateKeyPem&) = delete;
  ~PrivateKeyPem() { Wipe(); }

  std::string_view view() const { return pem_; }
  bool empty() const { return pem_.empty(); }
  void Wipe();

 private:
  std::string pem_;
};

// Overwrites the bytes of `s` (OPENSSL_cleanse), then empties it.
void WipeString(std::string& s);

struct DeviceCaMaterial {
  std::string cert_pem;   // self-signed, public
  PrivateKeyPem key_pem;  // PKCS#8, unencrypted: the caller seals it (DB::PutProjectSecret)
};

// A new device CA for `project`: ECDSA P-256, CN "sensordb device CA <project>", CA:TRUE
// pathlen 0, keyCertSign|cRLSign, valid from now (less 5 minutes of clock skew) for
// kDeviceCaDays.
Result<DeviceCaMaterial> CreateDeviceCa(std::string_view project, int64_t now_ns);

// What a device certificate says, as read from it.
struct DeviceCertificate {
  std::string project;      // from the URI SAN sensordb://<project>/<device>
  std::string device;       // percent-decoded
  std::string serial;       // hex, lower case, no leading zeros
  std::string fingerprint;  // SHA-256 of the DER, hex, lower case
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
  std::string pem;
};

// "sensordb://<project>/<device>", the device name percent-encoded outside [A-Za-z0-9-._~].
std::string DeviceUri(std::string_view project, std::string_view device);
// The inverse; InvalidArgument for anything else (another scheme, no device, bad escapes, a
// project name with characters outside [a-z0-9_-], a decoded device with control characters).
Status ParseDeviceUri(std::string_view uri, std::string* project, std::string* device);

struct CsrSigning {
  std::string_view project;
  std::string_view device;
  std::string_view csr_pem;  // at most kMaxCsrBytes
  uint32_t days = 365;       // 1..kMaxDeviceCertDays; cut to the CA's own expiry
  int64_t now_ns = 0;
};

// The checks SignDeviceCsr makes before it signs (names, lifetime, the CSR), without a CA:
// Ok, or InvalidArgument saying what is wrong.
Status CheckDeviceCsr(const CsrSigning& request);

// Checks the CSR (one PEM CSR, its signature, key EC P-256/P-384 or RSA >= 2048 bits, no CA
// extensions requested) and signs a certificate for its public key with the CA: subject
// CN=<device> (cut to 64 characters) O=<project>, URI SAN DeviceUri(project, device), CA:FALSE,
// digitalSignature, clientAuth, a random 128-bit serial, valid from now (less 5 minutes) for
// `days`. Nothing else of the CSR is copied. InvalidArgument says what is wrong with the CSR.
Result<DeviceCertificate> SignDeviceCsr(const CsrSigning& request, std::string_view ca_cert_pem,
                                        const PrivateKeyPem& ca_key_pem);

// Reads a device certificate: exactly one subjectAltName entry, a URI that ParseDeviceUri
// accepts. InvalidArgument naming the problem otherwise. Input at most kMaxCertificateBytes.
Result<DeviceCertificate> ParseDeviceCertificateDer(std::span<const uint8_t> der);
Result<DeviceCertificate> ParseDeviceCertificatePem(std::string_view pem);

// A CA certificate parsed once, to check leaves against it quickly (Admit runs per handshake).
class DeviceCaCert {
 public:
  static Result<DeviceCaCert> FromPem(std::string_view pem);
  DeviceCaCert(DeviceCaCert&&) noexcept;
  DeviceCaCert& operator=(DeviceCaCert&&) noexcept;
  ~DeviceCaCert();

  const std::string& pem() const;
  int64_t not_after_ns() const;
  // Ok when `leaf_der` names this CA as its issuer and its signature verifies with this CA's
  // key; PermissionDenied otherwise.
  Status VerifyIssued(std::span<const uint8_t> leaf_der) const;

 private:
  struct Impl;
  explicit DeviceCaCert(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `sensordb device keygen`: an ECDSA P-256 key written to `key_path` (PEM, mode 0600, created
// exclusively: an existing file is never overwritten) and a CSR for it (CN=<device>
// O=<project>, with the device's URI SAN) written to `csr_path` (0644, exclusive too).
Status WriteDeviceKeyAndCsr(std::string_view project, std::string_view device,
                            const std::string& key_path, const std::string& csr_path);

}  // namespace sensordb
