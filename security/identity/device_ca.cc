// OpenSSL 3 (EVP, X509, PEM) is used here only; every object is owned by a unique_ptr with its
// free function, and every error leaves as a Status with the OpenSSL error queue as text.
#include "identity/device_ca.h"

#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "sensordb/names.h"
#include "identity/openssl_files.h"

namespace sensordb {
namespace {

using tls_files::CreateExclusive;
using tls_files::FilePtr;
using tls_files::OpenSslError;
using tls_files::SyncFile;

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

void FreeExtensions(STACK_OF(X509_EXTENSION) * exts) {
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}
using ExtsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<FreeExtensions>>;

constexpr int64_t kNanos = 1'000'000'000;
constexpr long kClockSkewS = 300;  // certificates start 5 minutes early

Status Invalid(std::string message) {
  ERR_clear_error();
  return Status::InvalidArgument(std::move(message));
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

int64_t TimeNs(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return int64_t(::timegm(&tm)) * kNanos;
}

// ---- Names ---------------------------------------------------------------------------------

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

bool IsProjectName(std::string_view p) { return ValidateProjectName(p).ok(); }
bool IsDeviceName(std::string_view d) { return ValidateObjectName("device", d).ok(); }

// At most 64 characters (X.520's upper bound for a common name), cut at a UTF-8 boundary.
std::string_view CommonName(std::string_view device) {
  size_t chars = 0;
  for (size_t i = 0; i < device.size(); ++i) {
    if ((static_cast<unsigned char>(device[i]) & 0xc0) != 0x80 && ++chars > 64) {
      return device.substr(0, i);
    }
  }
  return device;
}

bool AddNameEntry(X509_NAME* name, const char* field, std::string_view value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    int(value.size()), -1, 0) == 1;
}

// ---- Certificate building --------------------------------------------------------------------

bool AddConfExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

NamesPtr UriNames(const std::string& uri) {
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return nullptr;
  GENERAL_NAME* gen = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (gen == nullptr || ia5 == nullptr || ASN1_STRING_set(ia5, uri.data(), int(uri.size())) != 1) {
    GENERAL_NAME_free(gen);
    ASN1_IA5STRING_free(ia5);
    return nullptr;
  }
  GENERAL_NAME_set0_value(gen, GEN_URI, ia5);
  if (sk_GENERAL_NAME_push(names.get(), gen) <= 0) {
    GENERAL_NAME_free(gen);
    return nullptr;
  }
  return names;
}

bool SetRandomSerial(X509* cert) {
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return false;
  // Positive, and always 32 hex digits without a leading zero: one spelling per serial.
  serial[0] = static_cast<unsigned char>(0x40 | (serial[0] & 0x3f));
  BnPtr bn(BN_bin2bn(serial, sizeof(serial), nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

// Version 3, a random serial, validity [now - skew, now + days], the public key.
bool SetCommon(X509* cert, EVP_PKEY* key, int64_t now_ns, uint32_t days) {
  time_t now = time_t(now_ns / kNanos);
  return X509_set_version(cert, 2) == 1 && SetRandomSerial(cert) &&
         X509_time_adj_ex(X509_getm_notBefore(cert), 0, -kClockSkewS, &now) != nullptr &&
         X509_time_adj_ex(X509_getm_notAfter(cert), int(days), 0, &now) != nullptr &&
         X509_set_pubkey(cert, key) == 1;
}

Result<CertPtr> ReadCertPem(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxCertificateBytes) {
    return Err(Invalid(std::string(what) + " is over " + std::to_string(kMaxCertificateBytes) +
                       " bytes"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  CertPtr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return Err(Invalid(std::string(what) + " is not a PEM certificate"));
  return cert;
}

Result<CertPtr> ReadCertDer(std::span<const uint8_t> der) {
  if (der.empty() || der.size() > kMaxCertificateBytes) {
    return Err(Invalid("certificate has " + std::to_string(der.size()) +
                       " bytes; expected 1 to " + std::to_string(kMaxCertificateBytes)));
  }
  const unsigned char* p = der.data();
  CertPtr cert(d2i_X509(nullptr, &p, long(der.size())));
  if (!cert || p != der.data() + der.size()) {
    return Err(Invalid("certificate is not one well-formed DER certificate"));
  }
  return cert;
}

Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Err(Status::Internal(OpenSslError("writing a certificate")));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(n));
}

Result<DeviceCertificate> Describe(X509* cert) {
  DeviceCertificate out;
  int crit = -1;
  NamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (!names) {
    return Err(Invalid(crit == -2 ? "certificate has more than one subjectAltName extension"
                                  : "certificate has no subjectAltName (sensordb://<project>/"
                                    "<device>)"));
  }
  if (sk_GENERAL_NAME_num(names.get()) != 1) {
    return Err(Invalid("certificate has " + std::to_string(sk_GENERAL_NAME_num(names.get())) +
                       " subjectAltName entries; a device certificate has exactly one URI"));
  }
  const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), 0);
  if (gen->type != GEN_URI) return Err(Invalid("certificate's subjectAltName is not a URI"));
  const ASN1_STRING* s = gen->d.uniformResourceIdentifier;
  const std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             size_t(ASN1_STRING_length(s)));
  SENSORDB_RETURN_IF_ERROR(ParseDeviceUri(uri, &out.project, &out.device));

  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  char* hex = bn ? BN_bn2hex(bn.get()) : nullptr;
  if (hex == nullptr) return Err(Status::Internal(OpenSslError("reading the serial number")));
  out.serial = hex;
  OPENSSL_free(hex);
  for (char& c : out.serial) c = char(std::tolower(static_cast<unsigned char>(c)));

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1) {
    return Err(Status::Internal(OpenSslError("hashing the certificate")));
  }
  out.fingerprint = Hex(md, md_len);
  out.not_before_ns = TimeNs(X509_get0_notBefore(cert));
  out.not_after_ns = TimeNs(X509_get0_notAfter(cert));
  SENSORDB_ASSIGN_OR_RETURN(out.pem, CertPem(cert));
  return out;
}

// ---- CSR checks ------------------------------------------------------------------------------

Status CheckCsrKey(EVP_PKEY* key) {
  if (key == nullptr) return Invalid("CSR has no readable public key");
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
      return Invalid("CSR's EC key names no curve; use P-256 or P-384");
    }
    const std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256" || g == "secp384r1" || g == "P-384") return Status::Ok();
    return Invalid("CSR's EC key is on curve " + std::string(g) + "; use P-256 or P-384");
  }
  if (id == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits >= 2048 && bits <= 8192) return Status::Ok();
    return Invalid("CSR's RSA key has " + std::to_string(bits) +
                   " bits; use 2048 to 8192 bits (or EC P-256)");
  }
  const char* name = OBJ_nid2sn(id);
  return Invalid(std::string("CSR's key type ") + (name ? name : "unknown") +
                 " is not accepted; use EC P-256, P-384 or RSA of at least 2048 bits");
}

// Refuses a CSR that asks to be a CA (basicConstraints CA:TRUE, keyCertSign or cRLSign).
Status CheckRequestedExtensions(X509_REQ* req) {
  ExtsPtr exts(X509_REQ_get_extensions(req));
  ERR_clear_error();  // no extension request is not an error
  if (!exts) return Status::Ok();
  for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_basic_constraints) {
      auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509V3_EXT_d2i(ext));
      if (bc == nullptr) return Invalid("CSR has a malformed basicConstraints extension");
      const bool ca = bc->ca != 0;
      BASIC_CONSTRAINTS_free(bc);
      if (ca) return Invalid("CSR asks for CA:TRUE; a device certificate is never a CA");
    } else if (nid == NID_key_usage) {
      auto* ku = static_cast<ASN1_BIT_STRING*>(X509V3_EXT_d2i(ext));
      if (ku == nullptr) return Invalid("CSR has a malformed keyUsage extension");
      const bool ca = ASN1_BIT_STRING_get_bit(ku, 5) || ASN1_BIT_STRING_get_bit(ku, 6);
      ASN1_BIT_STRING_free(ku);
      if (ca) return Invalid("CSR asks for keyCertSign or cRLSign; a device signs no certificates");
    }
  }
  return Status::Ok();
}

Result<ReqPtr> ReadCsr(std::string_view pem) {
  if (pem.size() > kMaxCsrBytes) {
    return Err(Invalid("CSR has " + std::to_string(pem.size()) + " bytes; the limit is " +
                       std::to_string(kMaxCsrBytes)));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  ReqPtr req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!req) return Err(Invalid("CSR is not a PEM certificate request (BEGIN CERTIFICATE REQUEST)"));
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  SENSORDB_RETURN_IF_ERROR(CheckCsrKey(key));
  if (X509_REQ_verify(req.get(), key) != 1) {
    return Err(Invalid("CSR's signature does not verify with its own public key"));
  }
  SENSORDB_RETURN_IF_ERROR(CheckRequestedExtensions(req.get()));
  return req;
}

Result<KeyPtr> ReadPrivateKey(const PrivateKeyPem& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.view().data(), int(pem.view().size())));
  KeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return Err(Status::Corruption(OpenSslError("the device CA's key is unreadable")));
  return key;
}

// ---- Files -----------------------------------------------------------------------------------

}  // namespace

// ---- Keys in memory ----------------------------------------------------------------------------

void WipeString(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

PrivateKeyPem& PrivateKeyPem::operator=(PrivateKeyPem&& o) noexcept {
  if (this != &o) {
    Wipe();
    pem_ = std::move(o.pem_);
    o.pem_.clear();
  }
  return *this;
}

void PrivateKeyPem::Wipe() { WipeString(pem_); }

// ---- URIs --------------------------------------------------------------------------------------

std::string DeviceUri(std::string_view project, std::string_view device) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out = "sensordb://";
  out.append(project);
  out.push_back('/');
  for (char ch : device) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

Status ParseDeviceUri(std::string_view uri, std::string* project, std::string* device) {
  constexpr std::string_view kScheme = "sensordb://";
  const std::string shown(uri.substr(0, 300));
  if (!uri.starts_with(kScheme)) {
    return Status::InvalidArgument("device URI '" + shown + "' does not start with sensordb://");
  }
  std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) {
    return Status::InvalidArgument("device URI '" + shown + "' is not sensordb://<project>/<device>");
  }
  const std::string_view p = rest.substr(0, slash), encoded = rest.substr(slash + 1);
  if (!IsProjectName(p)) {
    return Status::InvalidArgument("device URI '" + shown + "' names no valid project");
  }
  std::string d;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      d.push_back(encoded[i]);
      continue;
    }
    auto nibble = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    const int hi = i + 2 < encoded.size() ? nibble(encoded[i + 1]) : -1;
    const int lo = i + 2 < encoded.size() ? nibble(encoded[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("device URI '" + shown + "' has a bad %-escape");
    }
    d.push_back(char(hi * 16 + lo));
    i += 2;
  }
  // Canonical form only: one device, one URI.
  if (!IsDeviceName(d) || DeviceUri(p, d) != uri) {
    return Status::InvalidArgument("device URI '" + shown +
                                   "' does not name a device in canonical form");
  }
  *project = p;
  *device = std::move(d);
  return Status::Ok();
}

// ---- The CA ------------------------------------------------------------------------------------

Result<DeviceCaMaterial> CreateDeviceCa(std::string_view project, int64_t now_ns) {
  if (!IsProjectName(project)) return Err(Status::InvalidArgument("invalid project name"));
  KeyPtr key(EVP_EC_gen("P-256"));
  CertPtr cert(X509_new());
  if (!key || !cert) return Err(Status::Internal(OpenSslError("making a device CA key")));
  const std::string cn = "sensordb device CA " + std::string(project);
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = SetCommon(cert.get(), key.get(), now_ns, kDeviceCaDays) &&
            AddNameEntry(name, "O", "sensordb") && AddNameEntry(name, "CN", cn) &&
            X509_set_issuer_name(cert.get(), name) == 1 &&
            AddConfExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
            AddConfExt(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") &&
            AddConfExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash") &&
            X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) return Err(Status::Internal(OpenSslError("making the device CA of " + cn)));
  DeviceCaMaterial out;
  SENSORDB_ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert.get()));
  // Secure-heap memory BIO: its buffer is cleansed when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return Err(Status::Internal(OpenSslError("encoding the device CA key")));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  out.key_pem = PrivateKeyPem(std::string(data, size_t(n)));
  return out;
}

namespace {

Status CheckRequest(const CsrSigning& request) {
  if (!IsProjectName(request.project)) return Invalid("invalid project name");
  if (!IsDeviceName(request.device)) {
    return Invalid("device name must be 1-255 bytes without control characters");
  }
  if (request.days == 0 || request.days > kMaxDeviceCertDays) {
    return Invalid("certificate lifetime must be 1 to " + std::to_string(kMaxDeviceCertDays) +
                   " days, not " + std::to_string(request.days));
  }
  return Status::Ok();
}

}  // namespace

Status CheckDeviceCsr(const CsrSigning& request) {
  SENSORDB_RETURN_IF_ERROR(CheckRequest(request));
  auto req = ReadCsr(request.csr_pem);
  return req ? Status::Ok() : req.error();
}

Result<DeviceCertificate> SignDeviceCsr(const CsrSigning& request, std::string_view ca_cert_pem,
                                        const PrivateKeyPem& ca_key_pem) {
  SENSORDB_RETURN_IF_ERROR(CheckRequest(request));
  SENSORDB_ASSIGN_OR_RETURN(ReqPtr req, ReadCsr(request.csr_pem));
  SENSORDB_ASSIGN_OR_RETURN(CertPtr ca, ReadCertPem(ca_cert_pem, "device CA certificate"));
  SENSORDB_ASSIGN_OR_RETURN(KeyPtr ca_key, ReadPrivateKey(ca_key_pem));
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    return Err(Status::Corruption(OpenSslError("the device CA's key does not match its certificate")));
  }
  CertPtr cert(X509_new());
  if (!cert) return Err(Status::Internal(OpenSslError("X509_new")));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  bool ok = SetCommon(cert.get(), X509_REQ_get0_pubkey(req.get()), request.now_ns, request.days) &&
            AddNameEntry(subject, "O", request.project) &&
            AddNameEntry(subject, "CN", CommonName(request.device)) &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) == 1;
  // Never past the CA's own expiry.
  if (ok && ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(ca.get())) > 0) {
    ok = X509_set1_notAfter(cert.get(), X509_get0_notAfter(ca.get())) == 1;
  }
  NamesPtr san = UriNames(DeviceUri(request.project, request.device));
  ok = ok && san && X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, san.get(), 0,
                                      X509V3_ADD_DEFAULT) == 1 &&
       AddConfExt(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") &&
       AddConfExt(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature") &&
       AddConfExt(cert.get(), ca.get(), NID_ext_key_usage, "clientAuth") &&
       AddConfExt(cert.get(), ca.get(), NID_subject_key_identifier, "hash") &&
       AddConfExt(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always") &&
       X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0;
  if (!ok) return Err(Status::Internal(OpenSslError("signing the device certificate")));
  return Describe(cert.get());
}

Result<DeviceCertificate> ParseDeviceCertificateDer(std::span<const uint8_t> der) {
  SENSORDB_ASSIGN_OR_RETURN(CertPtr cert, ReadCertDer(der));
  return Describe(cert.get());
}

Result<DeviceCertificate> ParseDeviceCertificatePem(std::string_view pem) {
  SENSORDB_ASSIGN_OR_RETURN(CertPtr cert, ReadCertPem(pem, "certificate"));
  return Describe(cert.get());
}

// ---- DeviceCaCert ------------------------------------------------------------------------------

struct DeviceCaCert::Impl {
  CertPtr cert;
  std::string pem;
  int64_t not_after_ns = 0;
};

DeviceCaCert::DeviceCaCert(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceCaCert::DeviceCaCert(DeviceCaCert&&) noexcept = default;
DeviceCaCert& DeviceCaCert::operator=(DeviceCaCert&&) noexcept = default;
DeviceCaCert::~DeviceCaCert() = default;

Result<DeviceCaCert> DeviceCaCert::FromPem(std::string_view pem) {
  auto impl = std::make_unique<Impl>();
  SENSORDB_ASSIGN_OR_RETURN(impl->cert, ReadCertPem(pem, "device CA certificate"));
  if (X509_check_ca(impl->cert.get()) == 0) {
    return Err(Status::Corruption("the device CA certificate is not a CA certificate"));
  }
  impl->pem = pem;
  impl->not_after_ns = TimeNs(X509_get0_notAfter(impl->cert.get()));
  return DeviceCaCert(std::move(impl));
}

const std::string& DeviceCaCert::pem() const { return impl_->pem; }
int64_t DeviceCaCert::not_after_ns() const { return impl_->not_after_ns; }

Status DeviceCaCert::VerifyIssued(std::span<const uint8_t> leaf_der) const {
  auto leaf = ReadCertDer(leaf_der);
  if (!leaf) return Status::PermissionDenied(leaf.error().message());
  X509* ca = impl_->cert.get();
  if (X509_NAME_cmp(X509_get_issuer_name(leaf->get()), X509_get_subject_name(ca)) != 0 ||
      X509_verify(leaf->get(), X509_get0_pubkey(ca)) != 1) {
    ERR_clear_error();
    return Status::PermissionDenied("certificate was not issued by this project's device CA");
  }
  return Status::Ok();
}

// ---- Keygen ------------------------------------------------------------------------------------

Status WriteDeviceKeyAndCsr(std::string_view project, std::string_view device,
                            const std::string& key_path, const std::string& csr_path) {
  if (!IsProjectName(project)) return Status::InvalidArgument("invalid project name");
  if (!IsDeviceName(device)) {
    return Status::InvalidArgument("device name must be 1-255 bytes without control characters");
  }
  KeyPtr key(EVP_EC_gen("P-256"));
  ReqPtr req(X509_REQ_new());
  if (!key || !req) return Status::Internal(OpenSslError("making a device key"));
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  NamesPtr san = UriNames(DeviceUri(project, device));
  ExtsPtr exts(sk_X509_EXTENSION_new_null());
  ExtPtr san_ext(san ? X509V3_EXT_i2d(NID_subject_alt_name, 0, san.get()) : nullptr);
  bool ok = exts && san_ext && sk_X509_EXTENSION_push(exts.get(), san_ext.get()) > 0;
  if (ok) san_ext.release();  // owned by the stack now
  ok = ok && X509_REQ_set_version(req.get(), 0) == 1 && AddNameEntry(subject, "O", project) &&
       AddNameEntry(subject, "CN", CommonName(device)) &&
       X509_REQ_set_pubkey(req.get(), key.get()) == 1 &&
       X509_REQ_add_extensions(req.get(), exts.get()) == 1 &&
       X509_REQ_sign(req.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) return Status::Internal(OpenSslError("making the CSR"));
  // Both files are created before either is written, so a refusal leaves nothing behind.
  SENSORDB_ASSIGN_OR_RETURN(FilePtr key_file, CreateExclusive(key_path, 0600));
  auto csr_file = CreateExclusive(csr_path, 0644);
  if (!csr_file) {
    key_file.reset();
    ::unlink(key_path.c_str());
    return csr_file.error();
  }
  Status s = Status::Ok();
  if (PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    s = Status::Internal(OpenSslError("writing " + key_path));
  }
  if (s.ok()) s = SyncFile(key_file.get(), key_path);
  if (s.ok() && PEM_write_X509_REQ(csr_file->get(), req.get()) != 1) {
    s = Status::Internal(OpenSslError("writing " + csr_path));
  }
  if (s.ok()) s = SyncFile(csr_file->get(), csr_path);
  if (!s.ok()) {
    key_file.reset();
    csr_file->reset();
    ::unlink(key_path.c_str());
    ::unlink(csr_path.c_str());
  }
  return s;
}

}  // namespace sensordb
