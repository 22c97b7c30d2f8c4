// Helpers of the device tests: keys of every kind, CSRs made with OpenSSL directly (well-formed
// and hostile), and certificates forged with a CA key to test what Admit refuses.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace sensordb::x509_testing {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Cert = std::unique_ptr<X509, CertFree>;

inline Key EcKey(const char* curve = "P-256") { return Key(EVP_EC_gen(curve)); }
inline Key RsaKey(unsigned bits) { return Key(EVP_RSA_gen(bits)); }
inline Key Ed25519Key() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); }
inline Key DsaKey() {
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr);
  EVP_PKEY* params = nullptr;
  EVP_PKEY* key = nullptr;
  if (pctx && EVP_PKEY_paramgen_init(pctx) == 1 &&
      EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx, 2048) == 1 &&
      EVP_PKEY_paramgen(pctx, &params) == 1) {
    EVP_PKEY_CTX* kctx = EVP_PKEY_CTX_new_from_pkey(nullptr, params, nullptr);
    if (kctx && EVP_PKEY_keygen_init(kctx) == 1) EVP_PKEY_keygen(kctx, &key);
    EVP_PKEY_CTX_free(kctx);
  }
  EVP_PKEY_free(params);
  EVP_PKEY_CTX_free(pctx);
  return Key(key);
}

inline std::string Pem(X509_REQ* req) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, size_t(n));
  BIO_free(bio);
  return out;
}

inline void AddReqExt(STACK_OF(X509_EXTENSION) * exts, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, nid, value);
  ASSERT_NE(ext, nullptr);
  sk_X509_EXTENSION_push(exts, ext);
}

struct CsrOptions {
  std::string cn = "someone";
  std::vector<std::pair<int, std::string>> extensions;  // nid, conf value
  EVP_PKEY* sign_with = nullptr;                        // another key: a bad signature
  const EVP_MD* md = EVP_sha256();                      // null for ed25519
};

// A PEM CSR for `key`.
inline std::string MakeCsr(EVP_PKEY* key, const CsrOptions& o = {}) {
  X509_REQ* req = X509_REQ_new();
  X509_REQ_set_version(req, 0);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(o.cn.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req, key);
  if (!o.extensions.empty()) {
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    for (const auto& [nid, value] : o.extensions) AddReqExt(exts, nid, value.c_str());
    X509_REQ_add_extensions(req, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  EXPECT_GT(X509_REQ_sign(req, o.sign_with ? o.sign_with : key, o.md), 0);
  std::string pem = Pem(req);
  X509_REQ_free(req);
  return pem;
}

inline Cert ReadCert(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return Cert(c);
}

inline Key ReadKey(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return Key(k);
}

inline std::vector<uint8_t> Der(X509* cert) {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(cert, &buf);
  std::vector<uint8_t> out(buf, buf + (n > 0 ? n : 0));
  OPENSSL_free(buf);
  return out;
}

inline std::vector<uint8_t> DerOfPem(std::string_view pem) {
  Cert c = ReadCert(pem);
  EXPECT_TRUE(c);
  return c ? Der(c.get()) : std::vector<uint8_t>();
}

struct Forgery {
  std::vector<std::string> sans = {"URI:sensordb://p/d"};  // conf values; empty: no SAN
  int64_t not_before_s = 0;                                  // unix seconds
  int64_t not_after_s = 0;
  uint64_t serial = 0x4000'0000'0000'0001;
};

// A leaf certificate for `leaf_key` signed by `ca` / `ca_key` with whatever `f` says.
inline std::vector<uint8_t> Forge(X509* ca, EVP_PKEY* ca_key, EVP_PKEY* leaf_key,
                                  const Forgery& f) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), f.serial);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), time_t(f.not_before_s));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), time_t(f.not_after_s));
  X509_set_pubkey(cert.get(), leaf_key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("forged"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca));
  for (const std::string& san : f.sans) {
    X509_EXTENSION* ext =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    EXPECT_NE(ext, nullptr) << san;
    if (ext) {
      X509_add_ext(cert.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  EXPECT_GT(X509_sign(cert.get(), ca_key, EVP_sha256()), 0);
  return Der(cert.get());
}

}  // namespace sensordb::x509_testing
