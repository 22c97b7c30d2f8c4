#include "devices/device_registry.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <tuple>

#include "auth/records.h"
#include "firmware/firmware_store.h"
#include "sensordb/coding.h"

namespace sensordb::server {
namespace {

// The project secrets holding the device CA (DB::PutProjectSecret).
constexpr std::string_view kCaKeySecret = "device-ca.key";
constexpr std::string_view kCaCertSecret = "device-ca.crt";

constexpr uint8_t kRecordVersion = 1;
constexpr std::string_view kCertPrefix = "cert/", kDevicePrefix = "device/",
                           kFirmwarePrefix = "firmware/";

std::string CertName(uint32_t project_id, std::string_view serial) {
  return std::string(kCertPrefix) + std::to_string(project_id) + "/" + std::string(serial);
}
std::string DeviceName(uint32_t project_id, std::string_view device) {
  return std::string(kDevicePrefix) + std::to_string(project_id) + "/" + std::string(device);
}

std::string FirmwareName(uint32_t project_id, std::string_view device) {
  return std::string(kFirmwarePrefix) + std::to_string(project_id) + "/" + std::string(device);
}

// A device's last firmware report (docs/DEVICES.md "Registry").
std::string Encode(uint32_t project_id, std::string_view device, const FirmwareReport& r) {
  RecordWriter w;
  w.PutU8(kRecordVersion);
  w.PutVarint(project_id);
  w.PutString(device);
  w.PutVarint(r.release);
  w.PutU8(r.step);
  w.PutString(r.reason);
  w.PutString(r.version);
  w.PutVarint(r.security_version);
  w.PutVarint(r.root_version);
  w.PutSigned(r.at_ns);
  return w.Release();
}

Status DecodeFirmware(std::string_view v, uint32_t* project_id, std::string* device,
                      FirmwareReport* r) {
  RecordReader in(v);
  uint8_t version = 0;
  uint64_t pid = 0;
  if (!in.GetU8(&version) || version != kRecordVersion || !in.GetVarint(&pid) || pid > UINT32_MAX ||
      !in.GetString(device) || !in.GetVarint(&r->release) || !in.GetU8(&r->step) || r->step < 1 ||
      r->step > firmware::kMaxFirmwareStep || !in.GetString(&r->reason) ||
      !in.GetString(&r->version) || !in.GetVarint(&r->security_version) ||
      !in.GetVarint(&r->root_version) || !in.GetSigned(&r->at_ns) || !in.empty()) {
    return Status::Corruption("device firmware record is malformed");
  }
  *project_id = uint32_t(pid);
  return Status::Ok();
}

std::string Encode(const DeviceRegistry::CertRecord& r) {
  RecordWriter w;
  w.PutU8(kRecordVersion);
  w.PutVarint(r.project_id);
  w.PutString(r.device);
  w.PutString(r.serial);
  w.PutString(r.fingerprint);
  w.PutSigned(r.not_before_ns);
  w.PutSigned(r.not_after_ns);
  w.PutSigned(r.issued_ns);
  w.PutSigned(r.revoked_ns);
  w.PutString(r.issued_by);
  return w.Release();
}

std::string Encode(const DeviceRegistry::DeviceRecord& r) {
  RecordWriter w;
  w.PutU8(kRecordVersion);
  w.PutVarint(r.project_id);
  w.PutString(r.device);
  w.PutU8(r.revoked ? 2 : 1);
  w.PutSigned(r.enrolled_ns);
  w.PutSigned(r.revoked_ns);
  w.PutSigned(r.last_seen_ns);
  return w.Release();
}

Result<DeviceRegistry::CertRecord> DecodeCert(std::string_view v) {
  RecordReader in(v);
  DeviceRegistry::CertRecord r;
  uint8_t version = 0;
  uint64_t pid = 0;
  if (!in.GetU8(&version) || version != kRecordVersion || !in.GetVarint(&pid) ||
      pid > UINT32_MAX || !in.GetString(&r.device) || !in.GetString(&r.serial) ||
      !in.GetString(&r.fingerprint) || !in.GetSigned(&r.not_before_ns) ||
      !in.GetSigned(&r.not_after_ns) || !in.GetSigned(&r.issued_ns) ||
      !in.GetSigned(&r.revoked_ns) || !in.GetString(&r.issued_by) || !in.empty()) {
    return Err(Status::Corruption("device certificate record is malformed"));
  }
  r.project_id = uint32_t(pid);
  return r;
}

Result<DeviceRegistry::DeviceRecord> DecodeDevice(std::string_view v) {
  RecordReader in(v);
  DeviceRegistry::DeviceRecord r;
  uint8_t version = 0, status = 0;
  uint64_t pid = 0;
  if (!in.GetU8(&version) || version != kRecordVersion || !in.GetVarint(&pid) ||
      pid > UINT32_MAX || !in.GetString(&r.device) || !in.GetU8(&status) || status < 1 ||
      status > 2 || !in.GetSigned(&r.enrolled_ns) || !in.GetSigned(&r.revoked_ns) ||
      !in.GetSigned(&r.last_seen_ns) || !in.empty()) {
    return Err(Status::Corruption("device record is malformed"));
  }
  r.project_id = uint32_t(pid);
  r.revoked = status == 2;
  return r;
}

SystemStore::Op PutOp(std::string name, std::string value) {
  return {SystemStore::Op::Kind::kPutNamed, SystemSpace::kDevices, std::move(name), 0,
          std::move(value)};
}

// A serial as people type it (upper case, colons as `openssl x509 -text` prints) made canonical.
std::string NormalSerial(std::string_view serial) {
  std::string out;
  for (char c : serial) {
    if (c != ':') out.push_back(char(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string Where(std::string_view device, std::string_view project) {
  return "(device " + std::string(device) + ", project " + std::string(project) + ")";
}

Status Refused(std::string message) { return Status::PermissionDenied(std::move(message)); }

}  // namespace

Result<std::unique_ptr<DeviceRegistry>> DeviceRegistry::Open(DB& db, AuthService& auth,
                                                             DeviceRegistryOptions options) {
  std::unique_ptr<DeviceRegistry> r(new DeviceRegistry(db, auth, options));
  SENSORDB_RETURN_IF_ERROR(r->Load());
  return r;
}

DeviceRegistry::~DeviceRegistry() = default;

Status DeviceRegistry::Load() {
  SENSORDB_ASSIGN_OR_RETURN(const auto projects, db_.ListProjects());
  std::map<uint32_t, std::string> live;
  for (const ProjectInfo& p : projects) {
    live.emplace(p.id, p.name);
    SENSORDB_ASSIGN_OR_RETURN(auto pem, db_.GetProjectSecret(p.name, kCaCertSecret));
    if (!pem) continue;
    SENSORDB_ASSIGN_OR_RETURN(DeviceCaCert ca, DeviceCaCert::FromPem(*pem));
    cas_[p.name] = {p.id, std::make_shared<const DeviceCaCert>(std::move(ca))};
  }
  Status bad = Status::Ok();
  SENSORDB_RETURN_IF_ERROR(
      db_.System().ScanNamed(SystemSpace::kDevices, [&](std::string_view name, std::string_view v) {
        if (name.starts_with(kCertPrefix)) {
          auto r = DecodeCert(v);
          if (!r) {
            bad = r.error();
            return false;
          }
          // Records of projects dropped while the registry was not told are left out.
          if (live.count(r->project_id)) certs_[r->serial] = std::move(*r);
        } else if (name.starts_with(kDevicePrefix)) {
          auto r = DecodeDevice(v);
          if (!r) {
            bad = r.error();
            return false;
          }
          if (live.count(r->project_id)) {
            DeviceKey key{r->project_id, r->device};
            devices_[std::move(key)] = std::move(*r);
          }
        } else if (name.starts_with(kFirmwarePrefix)) {
          uint32_t pid = 0;
          std::string device;
          FirmwareReport report;
          if (Status d = DecodeFirmware(v, &pid, &device, &report); !d.ok()) {
            bad = d;
            return false;
          }
          if (live.count(pid)) firmware_[{pid, std::move(device)}] = std::move(report);
        }
        return true;
      }));
  return bad;
}

// ---- Management ----------------------------------------------------------------------------

Result<ProjectInfo> DeviceRegistry::Authorize(const Actor& actor, std::string_view project,
                                              Operation op) {
  auto info = db_.GetProject(project);
  if (!info && info.error().code() != StatusCode::kNotFound) return Err(info.error());
  const ProjectRef ref{info ? std::optional<uint32_t>(info->id) : std::nullopt, project};
  SENSORDB_RETURN_IF_ERROR(auth_.Authorize(actor.principal, op, ref));
  SENSORDB_RETURN_IF_ERROR(info);
  return *info;
}

std::shared_ptr<const DeviceCaCert> DeviceRegistry::FindCa(const ProjectInfo& project) const {
  std::shared_lock lock(mu_);
  auto it = cas_.find(project.name);
  return it != cas_.end() && it->second.project_id == project.id ? it->second.cert : nullptr;
}

Result<std::shared_ptr<const DeviceCaCert>> DeviceRegistry::EnsureCaLocked(
    const Actor& actor, const ProjectInfo& project) {
  if (auto ca = FindCa(project)) return ca;
  // Key first, certificate last: the certificate's presence is what says "this project has a
  // CA", so a crash between the two leaves no half CA (the next call makes a new pair).
  SENSORDB_ASSIGN_OR_RETURN(DeviceCaMaterial made, CreateDeviceCa(project.name, actor.now_ns));
  SENSORDB_RETURN_IF_ERROR(db_.PutProjectSecret(project.name, kCaKeySecret, made.key_pem.view()));
  made.key_pem.Wipe();
  SENSORDB_ASSIGN_OR_RETURN(DeviceCaCert ca, DeviceCaCert::FromPem(made.cert_pem));
  SENSORDB_RETURN_IF_ERROR(db_.PutProjectSecret(project.name, kCaCertSecret, made.cert_pem));
  SENSORDB_RETURN_IF_ERROR(auth_.Record(actor, AuditAction::kDeviceCaCreated, project.id,
                                        AuditOutcome::kSuccess,
                                        "device CA of project " + project.name + " created"));
  auto shared = std::make_shared<const DeviceCaCert>(std::move(ca));
  {
    std::unique_lock lock(mu_);
    cas_[project.name] = {project.id, shared};
  }
  ca_generation_.fetch_add(1);
  return shared;
}

Result<std::string> DeviceRegistry::EnsureCa(const Actor& actor, std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(ProjectInfo p, Authorize(actor, project, Operation::kQuery));
  if (auto ca = FindCa(p)) return ca->pem();
  Status may_create = auth_.Authorize(actor.principal, Operation::kManageDevices, {p.id, p.name});
  if (!may_create.ok()) {
    return Err(Status::FailedPrecondition("project '" + p.name +
                                          "' has no device CA yet; an owner or admin makes it "
                                          "with `sensordb device ca` (" +
                                          may_create.message() + ")"));
  }
  std::lock_guard change(change_mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto ca, EnsureCaLocked(actor, p));
  return ca->pem();
}

Status DeviceRegistry::Persist(const Actor& actor, AuditAction action, uint32_t project_id,
                               std::string detail, const std::vector<CertRecord>& certs,
                               const std::vector<DeviceRecord>& devices) {
  std::vector<SystemStore::Op> ops;
  for (const CertRecord& c : certs) ops.push_back(PutOp(CertName(project_id, c.serial), Encode(c)));
  for (const DeviceRecord& d : devices) {
    ops.push_back(PutOp(DeviceName(project_id, d.device), Encode(d)));
  }
  AuditEvent event{actor.now_ns,        actor.principal.name, std::string(actor.address), action,
                   project_id,          AuditOutcome::kSuccess, std::move(detail)};
  auto seq = auth_.audit().Append(std::move(event), ops);
  SENSORDB_RETURN_IF_ERROR(seq);
  std::unique_lock lock(mu_);
  for (const CertRecord& c : certs) certs_[c.serial] = c;
  for (const DeviceRecord& d : devices) devices_[{project_id, d.device}] = d;
  return Status::Ok();
}

Result<EnrolledCertificate> DeviceRegistry::Enroll(const Actor& actor, std::string_view project,
                                                   std::string_view device,
                                                   std::string_view csr_pem, uint32_t days) {
  SENSORDB_ASSIGN_OR_RETURN(ProjectInfo p, Authorize(actor, project, Operation::kManageDevices));
  if (days == 0) days = options_.default_cert_days;
  // A refused CSR changes nothing: no CA made, no device registered.
  SENSORDB_RETURN_IF_ERROR(CheckDeviceCsr({p.name, device, csr_pem, days, actor.now_ns}));
  std::lock_guard change(change_mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto ca, EnsureCaLocked(actor, p));
  // Implicit registration: enrolling is the manage-devices operation that registering is.
  SENSORDB_ASSIGN_OR_RETURN(const auto known, db_.ListDevices(p.name));
  const bool registered = std::any_of(known.begin(), known.end(),
                                      [&](const DeviceInfo& d) { return d.name == device; });
  if (!registered) {
    SENSORDB_RETURN_IF_ERROR(db_.RegisterDevice(p.name, {std::string(device), "", ""}));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto key, db_.GetProjectSecret(p.name, kCaKeySecret));
  if (!key) return Err(Status::Corruption("the device CA of project " + p.name + " has no key"));
  const PrivateKeyPem ca_key(std::move(*key));  // wiped when it goes out of scope
  WipeString(*key);
  SENSORDB_ASSIGN_OR_RETURN(
      DeviceCertificate cert,
      SignDeviceCsr({p.name, device, csr_pem, days, actor.now_ns}, ca->pem(), ca_key));

  CertRecord c{p.id,       std::string(device), cert.serial, cert.fingerprint, cert.not_before_ns,
               cert.not_after_ns, actor.now_ns, 0,           actor.principal.name};
  DeviceRecord d;
  {
    std::shared_lock lock(mu_);
    auto it = devices_.find({p.id, std::string(device)});
    if (it != devices_.end()) d = it->second;
  }
  const bool reactivated = d.revoked;
  if (d.enrolled_ns == 0) d.enrolled_ns = actor.now_ns;
  d.project_id = p.id;
  d.device = device;
  d.revoked = false;
  d.revoked_ns = 0;
  std::string detail = "device " + std::string(device) + " enrolled: certificate " + cert.serial +
                       ", SHA-256 " + cert.fingerprint + ", valid until " +
                       FormatTimeUtc(cert.not_after_ns);
  if (!registered) detail += "; device registered";
  if (reactivated) detail += "; device was revoked and is active again";
  SENSORDB_RETURN_IF_ERROR(
      Persist(actor, AuditAction::kDeviceEnrolled, p.id, std::move(detail), {c}, {d}));
  return EnrolledCertificate{std::move(cert.pem), ca->pem(),         cert.serial,
                             cert.fingerprint,    cert.not_before_ns, cert.not_after_ns};
}

Result<std::vector<DeviceCertificateInfo>> DeviceRegistry::ListCertificates(
    const Actor& actor, std::string_view project, std::string_view device) {
  SENSORDB_ASSIGN_OR_RETURN(ProjectInfo p, Authorize(actor, project, Operation::kQuery));
  SENSORDB_ASSIGN_OR_RETURN(const auto catalog, db_.ListDevices(p.name));
  std::map<std::string_view, const DeviceInfo*> infos;
  for (const DeviceInfo& d : catalog) infos.emplace(d.name, &d);
  std::vector<DeviceCertificateInfo> out;
  {
    std::shared_lock lock(mu_);
    for (const auto& [serial, c] : certs_) {
      if (c.project_id != p.id || (!device.empty() && c.device != device)) continue;
      DeviceCertificateInfo info{c.device,        c.serial,    c.fingerprint, c.not_before_ns,
                                 c.not_after_ns,  c.issued_ns, c.revoked_ns,  0,
                                 false,           {},          {}};
      const DeviceKey key{p.id, c.device};
      if (auto d = devices_.find(key); d != devices_.end()) {
        info.device_revoked = d->second.revoked;
        info.last_seen_ns = d->second.last_seen_ns;
      }
      if (auto s = last_seen_.find(key); s != last_seen_.end()) {
        info.last_seen_ns = std::max(info.last_seen_ns, s->second);
      }
      if (auto i = infos.find(c.device); i != infos.end()) {
        info.model = i->second->model;
        info.firmware_version = i->second->firmware_version;
      }
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.device, a.issued_ns, a.serial) < std::tie(b.device, b.issued_ns, b.serial);
  });
  return out;
}

Status DeviceRegistry::RevokeCertificate(const Actor& actor, std::string_view project,
                                         std::string_view device, std::string_view serial) {
  SENSORDB_ASSIGN_OR_RETURN(ProjectInfo p, Authorize(actor, project, Operation::kManageDevices));
  const std::string wanted = NormalSerial(serial);
  std::lock_guard change(change_mu_);
  CertRecord c;
  {
    std::shared_lock lock(mu_);
    auto it = certs_.find(wanted);
    if (it == certs_.end() || it->second.project_id != p.id || it->second.device != device) {
      return Status::NotFound("device '" + std::string(device) + "' of project '" + p.name +
                              "' has no certificate with serial " + wanted);
    }
    c = it->second;
  }
  if (c.revoked_ns != 0) return Status::Ok();  // idempotent
  c.revoked_ns = actor.now_ns;
  SENSORDB_RETURN_IF_ERROR(Persist(actor, AuditAction::kDeviceCertRevoked, p.id,
                                   "certificate " + c.serial + " of device " + c.device +
                                       " revoked",
                                   {c}, {}));
  Notify(p.id, c.device, c.serial);
  return Status::Ok();
}

Status DeviceRegistry::RevokeDevice(const Actor& actor, std::string_view project,
                                    std::string_view device) {
  SENSORDB_ASSIGN_OR_RETURN(ProjectInfo p, Authorize(actor, project, Operation::kManageDevices));
  std::lock_guard change(change_mu_);
  DeviceRecord d;
  std::vector<CertRecord> certs;
  {
    std::shared_lock lock(mu_);
    auto it = devices_.find({p.id, std::string(device)});
    if (it == devices_.end()) {
      return Status::NotFound("device '" + std::string(device) + "' of project '" + p.name +
                              "' has never been enrolled");
    }
    d = it->second;
    for (const auto& [serial, c] : certs_) {
      if (c.project_id == p.id && c.device == device && c.revoked_ns == 0) certs.push_back(c);
    }
  }
  if (!d.revoked) d.revoked_ns = actor.now_ns;
  d.revoked = true;
  for (CertRecord& c : certs) c.revoked_ns = actor.now_ns;
  SENSORDB_RETURN_IF_ERROR(Persist(actor, AuditAction::kDeviceRevoked, p.id,
                                   "device " + d.device + " revoked with its " +
                                       std::to_string(certs.size()) + " valid certificate(s)",
                                   certs, {d}));
  Notify(p.id, d.device, {});
  return Status::Ok();
}

Status DeviceRegistry::ProjectDropped(uint32_t project_id) {
  std::lock_guard change(change_mu_);
  std::vector<SystemStore::Op> ops;
  {
    std::unique_lock lock(mu_);
    for (auto it = certs_.begin(); it != certs_.end();) {
      if (it->second.project_id != project_id) {
        ++it;
        continue;
      }
      ops.push_back({SystemStore::Op::Kind::kDeleteNamed, SystemSpace::kDevices,
                     CertName(project_id, it->first), 0, {}});
      it = certs_.erase(it);
    }
    for (auto it = devices_.begin(); it != devices_.end();) {
      if (it->first.first != project_id) {
        ++it;
        continue;
      }
      ops.push_back({SystemStore::Op::Kind::kDeleteNamed, SystemSpace::kDevices,
                     DeviceName(project_id, it->first.second), 0, {}});
      last_seen_.erase(it->first);
      it = devices_.erase(it);
    }
    for (auto it = firmware_.begin(); it != firmware_.end();) {
      if (it->first.first != project_id) {
        ++it;
        continue;
      }
      ops.push_back({SystemStore::Op::Kind::kDeleteNamed,
                     SystemSpace::kDevices,
                     FirmwareName(project_id, it->first.second),
                     0,
                     {}});
      it = firmware_.erase(it);
    }
    std::erase_if(cas_, [&](const auto& e) { return e.second.project_id == project_id; });
  }
  ca_generation_.fetch_add(1);
  Notify(project_id, {}, {});
  return ops.empty() ? Status::Ok() : db_.System().Apply(ops);
}

// ---- DeviceAuthority ---------------------------------------------------------------------------

std::vector<std::string> DeviceRegistry::CaCertificates() {
  std::vector<std::string> out;
  std::shared_lock lock(mu_);
  for (const auto& [name, ca] : cas_) {
    auto p = db_.GetProject(name);
    if (p && p->id == ca.project_id) out.push_back(ca.cert->pem());
  }
  return out;
}

Result<DeviceIdentity> DeviceRegistry::Admit(std::span<const uint8_t> leaf_der, int64_t now_ns) {
  auto parsed = ParseDeviceCertificateDer(leaf_der);
  if (!parsed) return Err(Refused("device certificate refused: " + parsed.error().message()));
  const DeviceCertificate& cert = *parsed;
  const std::string where = Where(cert.device, cert.project);
  std::shared_lock lock(mu_);
  auto ca = cas_.find(cert.project);
  auto project = db_.GetProject(cert.project);
  if (ca == cas_.end() || !project || project->id != ca->second.project_id) {
    return Err(Refused("certificate names a project without a device CA " + where));
  }
  const uint32_t pid = ca->second.project_id;
  if (!ca->second.cert->VerifyIssued(leaf_der).ok()) {
    return Err(Refused("certificate was not issued by the device CA of the project it names " +
                       where));
  }
  if (now_ns < cert.not_before_ns) {
    return Err(Refused("device certificate is not valid before " +
                       FormatTimeUtc(cert.not_before_ns) + " " + where));
  }
  if (now_ns > cert.not_after_ns) {
    return Err(Refused("device certificate expired on " + FormatTimeUtc(cert.not_after_ns) + " " +
                       where));
  }
  auto c = certs_.find(cert.serial);
  if (c == certs_.end() || c->second.project_id != pid || c->second.device != cert.device ||
      c->second.fingerprint != cert.fingerprint) {
    return Err(Refused("certificate serial " + cert.serial + " is unknown to the registry " +
                       where));
  }
  if (c->second.revoked_ns != 0) {
    return Err(Refused("certificate " + cert.serial + " was revoked on " +
                       FormatTimeUtc(c->second.revoked_ns) + " " + where));
  }
  auto d = devices_.find({pid, cert.device});
  if (d == devices_.end() || d->second.revoked) {
    return Err(Refused("device is revoked " + where));
  }
  return DeviceIdentity{cert.project, pid, cert.device, cert.serial, cert.fingerprint,
                        cert.not_after_ns};
}

void DeviceRegistry::Seen(const DeviceIdentity& device, int64_t now_ns) {
  const DeviceKey key{device.project_id, device.device};
  {
    std::unique_lock lock(mu_);
    auto d = devices_.find(key);
    if (d == devices_.end()) return;
    int64_t& fresh = last_seen_[key];
    fresh = std::max(fresh, now_ns);
    if (now_ns - d->second.last_seen_ns < options_.seen_interval_ns) return;
  }
  // Stored under change_mu_ from the newest record, so a revocation is never overwritten.
  std::lock_guard change(change_mu_);
  DeviceRecord r;
  {
    std::shared_lock lock(mu_);
    auto d = devices_.find(key);
    if (d == devices_.end() || now_ns - d->second.last_seen_ns < options_.seen_interval_ns) {
      return;  // dropped, or another thread stored it meanwhile
    }
    r = d->second;
  }
  r.last_seen_ns = now_ns;
  // Best effort: a failed write only loses a last-seen time.
  if (!db_.System().PutNamed(SystemSpace::kDevices, DeviceName(r.project_id, r.device), Encode(r))
           .ok()) {
    return;
  }
  std::unique_lock lock(mu_);
  if (auto d = devices_.find(key); d != devices_.end()) d->second.last_seen_ns = now_ns;
}

Status DeviceRegistry::ReportFirmware(const DeviceIdentity& device, const FirmwareReport& report) {
  if (report.step < 1 || report.step > firmware::kMaxFirmwareStep) {
    return Status::InvalidArgument("firmware step " + std::to_string(report.step) +
                                   " is not one of 1 (offered) .. 7 (failed)");
  }
  const DeviceKey key{device.project_id, device.device};
  const auto step = firmware::FirmwareStep(report.step);
  {
    std::lock_guard change(change_mu_);
    bool repeated = false;
    {
      std::shared_lock lock(mu_);
      auto d = devices_.find(key);
      if (d == devices_.end() || d->second.revoked) {
        return Status::PermissionDenied("device is revoked " +
                                        Where(device.device, device.project));
      }
      // The same report again within a minute (a device retrying) is not written again.
      auto f = firmware_.find(key);
      repeated = f != firmware_.end() && f->second.release == report.release &&
                 f->second.step == report.step && f->second.reason == report.reason &&
                 f->second.version == report.version &&
                 f->second.security_version == report.security_version &&
                 f->second.root_version == report.root_version &&
                 report.at_ns - f->second.at_ns < 60'000'000'000LL;
    }
    if (!repeated) {
      SENSORDB_RETURN_IF_ERROR(db_.System().PutNamed(
          SystemSpace::kDevices, FirmwareName(device.project_id, device.device),
          Encode(device.project_id, device.device, report)));
      std::unique_lock lock(mu_);
      firmware_[key] = report;
    }
    if (step == firmware::FirmwareStep::kConfirmed && !report.version.empty()) {
      // What `device list` shows: the catalog's record, its model kept; under change_mu_, after
      // the revocation check, like every other change of the device.
      SENSORDB_ASSIGN_OR_RETURN(const auto devices, db_.ListDevices(device.project));
      for (DeviceInfo info : devices) {
        if (info.name != device.device || info.firmware_version == report.version) continue;
        info.firmware_version = report.version;
        SENSORDB_RETURN_IF_ERROR(db_.RegisterDevice(device.project, info));
      }
    }
  }
  if (firmware::IsFailure(step)) return HaltFailingRollouts(device, report);
  return Status::Ok();
}

std::vector<std::string> DeviceRegistry::Reporters(uint32_t project_id) {
  std::vector<std::string> out;
  std::shared_lock lock(mu_);
  for (auto it = firmware_.lower_bound({project_id, std::string()});
       it != firmware_.end() && it->first.first == project_id; ++it) {
    out.push_back(it->first.second);
  }
  return out;
}

firmware::StepOf DeviceRegistry::StepsOf(uint32_t project_id) {
  return [this, project_id](std::string_view name) -> std::optional<firmware::StepReport> {
    std::shared_lock lock(mu_);
    auto it = firmware_.find({project_id, std::string(name)});
    if (it == firmware_.end()) return std::nullopt;
    return firmware::StepReport{it->second.release, firmware::FirmwareStep(it->second.step),
                                it->second.at_ns / kNanosPerSecond};
  };
}

Status DeviceRegistry::HaltFailingRollouts(const DeviceIdentity& device,
                                           const FirmwareReport& report) {
  firmware::FirmwareStore store(db_);
  auto halted = store.HaltIfFailing(device.project, device.device, report.release,
                                    StepsOf(device.project_id), Reporters(device.project_id));
  if (!halted) {
    // Fail closed: the device is told, and sends its report again (stored already).
    return Status(halted.error().code(),
                  "report stored, but the rollouts of release " +
                      firmware::ReleaseIdText(report.release) +
                      " could not be checked for a halt: " + halted.error().message());
  }
  const Principal server{"device-listener", PrincipalKind::kServiceAccount, false, {}, 0};
  const Actor actor{server, "", report.at_ns};
  for (const firmware::Halt& h : *halted) {
    const Status s = auth_.Record(
        actor, AuditAction::kFirmwareRolloutHalted, device.project_id, AuditOutcome::kSuccess,
        "rollout " + std::to_string(h.rollout.id) + " halted: wave " + std::to_string(h.wave + 1) +
            " has " + std::to_string(h.tally.failures()) + " of " +
            std::to_string(h.tally.devices) + " devices failed or rolled back (threshold " +
            std::to_string(h.rollout.plan.failure_percent) + " %); last report: device " +
            device.device + " " +
            std::string(firmware::FirmwareStepName(firmware::FirmwareStep(report.step))) +
            (report.reason.empty() ? "" : " (" + report.reason + ")"));
    if (!s.ok()) std::fprintf(stderr, "sensordbd: audit: %s\n", s.ToString().c_str());
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, FirmwareReport>>> DeviceRegistry::ListFirmware(
    const Actor& actor, std::string_view project, std::string_view device) {
  SENSORDB_ASSIGN_OR_RETURN(const ProjectInfo p, Authorize(actor, project, Operation::kQuery));
  std::vector<std::pair<std::string, FirmwareReport>> out;
  std::shared_lock lock(mu_);
  for (auto it = firmware_.lower_bound({p.id, std::string(device)});
       it != firmware_.end() && it->first.first == p.id; ++it) {
    if (!device.empty() && it->first.second != device) break;
    out.emplace_back(it->first.second, it->second);
  }
  return out;
}

std::vector<RolloutStatus> DeviceRegistry::RolloutStatuses() {
  std::vector<RolloutStatus> out;
  auto projects = db_.ListProjects();
  if (!projects) return out;
  firmware::FirmwareStore store(db_);
  const int64_t now = Clock::System().NowUnixNs() / kNanosPerSecond;
  for (const ProjectInfo& p : *projects) {
    auto rollouts = store.Rollouts(p.name);
    if (!rollouts) continue;
    const firmware::StepOf step_of = StepsOf(p.id);
    const std::vector<std::string> reporters = Reporters(p.id);
    for (const firmware::Rollout& r : *rollouts) {
      if (r.state == firmware::RolloutState::kCancelled) continue;
      RolloutStatus st;
      st.project_id = p.id;
      st.rollout = r.id;
      st.state = r.state;
      st.open_wave = firmware::OpenWave(r, now);
      st.waves = uint32_t(r.plan.waves.size());
      for (const firmware::WaveTally& t : firmware::Tally(r, step_of, reporters)) {
        for (size_t i = 0; i < st.steps.size(); ++i) st.steps[i] += t.steps[i];
      }
      out.push_back(st);
    }
  }
  return out;
}

uint64_t DeviceRegistry::WatchRevocations(RevocationFn fn) {
  std::lock_guard lock(watch_mu_);
  const uint64_t handle = next_watch_++;
  watchers_.emplace(handle, std::move(fn));
  return handle;
}

void DeviceRegistry::Unwatch(uint64_t handle) {
  std::lock_guard lock(watch_mu_);
  watchers_.erase(handle);
}

void DeviceRegistry::Notify(uint32_t project_id, std::string_view device,
                            std::string_view serial) {
  std::vector<RevocationFn> fns;
  {
    std::lock_guard lock(watch_mu_);
    for (const auto& [handle, fn] : watchers_) fns.push_back(fn);
  }
  for (const auto& fn : fns) fn(project_id, device, serial);
}

}  // namespace sensordb::server
