#include "tls/dev_ca.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "identity/openssl_files.h"

namespace sensordb::server {
namespace {

using tls_files::CreateExclusive;
using tls_files::FilePtr;
using tls_files::OpenSslError;
using tls_files::SyncFile;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed when issuer is null).
Result<CertPtr> MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key,
                         bool is_ca, int valid_days) {
  CertPtr cert(X509_new());
  if (!cert) return Err(Status::Internal(OpenSslError("X509_new")));
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return Err(Status::Internal("RAND_bytes"));
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = serial_ok && X509_set_version(cert.get(), 2) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * valid_days) != nullptr &&
            X509_set_pubkey(cert.get(), key) == 1 &&
            X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("sensordb dev"), -1,
                                       -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(cn), -1, -1,
                                       0) == 1;
  X509* iss = issuer != nullptr ? issuer : cert.get();
  ok = ok && X509_set_issuer_name(cert.get(), X509_get_subject_name(iss)) == 1;
  if (is_ca) {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign") &&
         AddExt(cert.get(), iss, NID_subject_key_identifier, "hash");
  } else {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE") &&
         AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature") &&
         AddExt(cert.get(), iss, NID_ext_key_usage, "serverAuth") &&
         AddExt(cert.get(), iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") &&
         AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid:always");
  }
  EVP_PKEY* signer = issuer_key != nullptr ? issuer_key : key;
  ok = ok && X509_sign(cert.get(), signer, EVP_sha256()) > 0;
  if (!ok) return Err(Status::Internal(OpenSslError(std::string("making certificate ") + cn)));
  return cert;
}

Status WriteKey(EVP_PKEY* key, const std::string& path) {
  auto f = CreateExclusive(path, 0600);
  SENSORDB_RETURN_IF_ERROR(f);
  if (PEM_write_PrivateKey(f->get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::Internal(OpenSslError("writing " + path));
  }
  return SyncFile(f->get(), path);
}

Status WriteCerts(std::initializer_list<X509*> certs, const std::string& path) {
  auto f = CreateExclusive(path, 0644);
  SENSORDB_RETURN_IF_ERROR(f);
  for (X509* c : certs) {
    if (PEM_write_X509(f->get(), c) != 1) return Status::Internal(OpenSslError("writing " + path));
  }
  return SyncFile(f->get(), path);
}

}  // namespace

Status CreateDevCertificates(const DevCertificateFiles& files, int valid_days) {
  KeyPtr ca_key(EVP_EC_gen("P-256"));
  KeyPtr server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return Status::Internal(OpenSslError("EVP_EC_gen(P-256)"));
  auto ca = MakeCert(ca_key.get(), "sensordb development CA", nullptr, nullptr, true, valid_days);
  SENSORDB_RETURN_IF_ERROR(ca);
  auto server = MakeCert(server_key.get(), "localhost", ca->get(), ca_key.get(), false, valid_days);
  SENSORDB_RETURN_IF_ERROR(server);
  SENSORDB_RETURN_IF_ERROR(WriteKey(ca_key.get(), files.ca_key));
  SENSORDB_RETURN_IF_ERROR(WriteKey(server_key.get(), files.server_key));
  SENSORDB_RETURN_IF_ERROR(WriteCerts({ca->get()}, files.ca_cert));
  return WriteCerts({server->get(), ca->get()}, files.server_cert);
}

}  // namespace sensordb::server
