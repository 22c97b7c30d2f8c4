// A local development CA and a server certificate signed by it, for `sensordbd init` and tests:
// ECDSA P-256 keys, SHA-256 signatures, the server certificate valid for DNS:localhost and
// IP:127.0.0.1. OpenSSL is wrapped here only. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::server {

struct DevCertificateFiles {
  std::string ca_cert;      // PEM, 0644
  std::string ca_key;       // PEM, 0600
  std::string server_cert;  // PEM chain: server certificate, then the CA
  std::string server_key;   // PEM, 0600
};

// Writes the four files of `files`; refuses to overwrite any existing file.
// `valid_days`: lifetime of both certificates.
Status CreateDevCertificates(const DevCertificateFiles& files, int valid_days = 825);

}  // namespace sensordb::server
