#include "device_identity.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "sensordb/client/async_client.h"

namespace sensordb::bench {

void KeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
void CertificateFree::operator()(X509* cert) const { X509_free(cert); }

namespace {

struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

Status OpensslError(std::string what) {
  return Status::Internal(what + " failed (OpenSSL error " + std::to_string(ERR_get_error()) + ")");
}

Result<CertificatePtr> ParseCertificate(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return Err(OpensslError("BIO_new_mem_buf"));
  CertificatePtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Err(Status::InvalidArgument("the enrolment reply holds no PEM certificate"));
  return cert;
}

}  // namespace

Result<KeyAndCsr> MakeKeyAndCsr(std::string_view project, std::string_view device) {
  KeyAndCsr out;
  out.key.reset(EVP_EC_gen("P-256"));
  if (!out.key) return Err(OpensslError("EC P-256 key generation"));
  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return Err(OpensslError("X509_REQ_new"));
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  const std::string o(project), cn(device.substr(0, 64));
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    return Err(OpensslError("CSR subject"));
  }
  if (X509_REQ_set_pubkey(req.get(), out.key.get()) != 1 ||
      X509_REQ_sign(req.get(), out.key.get(), EVP_sha256()) <= 0) {
    return Err(OpensslError("CSR signature"));
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1)
    return Err(OpensslError("CSR PEM"));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  out.csr_pem.assign(data, size_t(n));
  return out;
}

Result<EnrolmentReport> EnrollFleet(const client::ClientOptions& admin, std::string_view project,
                                    const std::vector<std::string>& names, int connections,
                                    uint32_t window) {
  EnrolmentReport report;
  report.devices.resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) report.devices[i].device = names[i];
  std::mutex mu;  // guards report.failures, report.enrolled, connect_error, connected
  Status connect_error;
  int connected = 0;
  client::ClientOptions options = admin;
  options.max_in_flight = window;
  const auto t0 = std::chrono::steady_clock::now();
  auto worker = [&](int t) {
    ErrorTally failures;
    uint64_t enrolled = 0;
    auto client = client::AsyncClient::Connect(options);
    if (!client) {
      std::lock_guard lock(mu);
      if (connect_error.ok()) connect_error = client.error();
      for (size_t i = size_t(t); i < names.size(); i += size_t(connections)) {
        report.failures.Add("enrolment connection", client.error().ToString());
      }
      return;
    }
    {
      std::lock_guard lock(mu);
      ++connected;
    }
    struct Pending {
      size_t index;
      std::future<Result<client::EnrolledCertificate>> reply;
    };
    std::deque<Pending> pending;
    auto settle = [&](size_t keep) {
      while (pending.size() > keep) {
        Pending p = std::move(pending.front());
        pending.pop_front();
        auto cert = p.reply.get();
        if (!cert) {
          failures.Add("enrolment refused: " + std::string(StatusCodeName(cert.error().code())),
                       cert.error().message());
          report.devices[p.index].key.reset();
          continue;
        }
        auto parsed = ParseCertificate(cert->certificate_pem);
        if (!parsed) {
          failures.Add("enrolment reply", parsed.error().ToString());
          report.devices[p.index].key.reset();
          continue;
        }
        report.devices[p.index].certificate = std::move(*parsed);
        ++enrolled;
      }
    };
    for (size_t i = size_t(t); i < names.size(); i += size_t(connections)) {
      auto made = MakeKeyAndCsr(project, names[i]);
      if (!made) {
        failures.Add("key or CSR", made.error().ToString());
        continue;
      }
      report.devices[i].key = std::move(made->key);  // each index is touched by one thread only
      pending.push_back({i, (*client)->Enroll(project, names[i], made->csr_pem)});
      settle(window);
    }
    settle(0);
    std::lock_guard lock(mu);
    report.failures.Merge(failures);
    report.enrolled += enrolled;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (connected == 0 && !connect_error.ok()) return Err(connect_error);
  return report;
}

}  // namespace sensordb::bench
