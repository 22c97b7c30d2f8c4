#include "catalog/project_secrets.h"

#include "catalog/catalog.h"
#include "crypto/secret_key.h"
#include "sensordb/coding.h"
#include "sensordb/names.h"
#include "store/keys.h"

namespace sensordb::catalog {
namespace {

using store::Cf;
using store::MetaKey;
using store::MetaTag;

constexpr uint8_t kSecretVersion = 1;

// Opened values and records pass through std::string: wipe them before they are freed.
void Wipe(std::string& s) { crypto::WipeString(s); }

std::string Record(std::string_view name, std::string_view value) {
  std::string v(1, char(kSecretVersion));
  PutLengthPrefixed(&v, name);
  PutLengthPrefixed(&v, value);
  return v;
}

// Splits an opened record into name and value (views into `plain`).
Status Parse(std::string_view plain, std::string_view* name, std::string_view* value) {
  if (plain.empty() || uint8_t(plain[0]) != kSecretVersion) {
    return Status::Corruption("project secret has an unknown version");
  }
  plain.remove_prefix(1);
  if (!GetLengthPrefixed(&plain, name) || !GetLengthPrefixed(&plain, value) || !plain.empty()) {
    return Status::Corruption("project secret is malformed");
  }
  return Status::Ok();
}

Status CheckName(std::string_view name) { return ValidateObjectName("secret", name); }

}  // namespace

Result<std::optional<ProjectSecrets::Found>> ProjectSecrets::Find(uint32_t project,
                                                                  std::string_view name) {
  const std::string prefix = MetaKey(MetaTag::kSecret, project);
  auto it = store_.NewIterator(Cf::kMeta);
  std::string plain;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Wipe(plain);
    SENSORDB_RETURN_IF_ERROR(
        cipher_.Open(project, crypto::RecordKind::kProjectSecret, it->key(), it->value(), &plain));
    std::string_view n, v;
    Status parsed = Parse(plain, &n, &v);
    if (!parsed.ok()) {
      Wipe(plain);
      return Err(parsed);
    }
    if (n == name) {
      Found f{std::string(it->key()), std::string(v)};
      Wipe(plain);
      return std::optional<Found>(std::move(f));
    }
  }
  Wipe(plain);
  SENSORDB_RETURN_IF_ERROR(it->status());
  return std::optional<Found>();
}

Status ProjectSecrets::Put(uint32_t project, std::string_view name, std::string_view value) {
  SENSORDB_RETURN_IF_ERROR(CheckName(name));
  if (value.size() > kMaxSecretBytes) {
    return Status::InvalidArgument("secret '" + std::string(name) + "' has " +
                                   std::to_string(value.size()) + " bytes; the limit is " +
                                   std::to_string(kMaxSecretBytes));
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto found, Find(project, name));
  std::string key;
  if (found) {
    key = std::move(found->key);
    Wipe(found->value);
  } else {
    // A random record id: the key says nothing about the name, and needs no counter.
    uint64_t id = 0;
    crypto::RandomBytes({reinterpret_cast<uint8_t*>(&id), sizeof(id)});
    key = MetaKey(MetaTag::kSecret, project, id);
  }
  std::string plain = Record(name, value);
  std::string sealed;
  Status s = cipher_.Seal(project, crypto::RecordKind::kProjectSecret, key, plain, &sealed);
  Wipe(plain);
  SENSORDB_RETURN_IF_ERROR(s);
  auto batch = store_.NewBatch();
  batch.Put(Cf::kMeta, key, sealed);
  return store_.Write(batch, /*sync=*/true);
}

Result<std::optional<std::string>> ProjectSecrets::Get(uint32_t project, std::string_view name) {
  SENSORDB_RETURN_IF_ERROR(CheckName(name));
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto found, Find(project, name));
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(std::move(found->value));
}

Status ProjectSecrets::Delete(uint32_t project, std::string_view name) {
  SENSORDB_RETURN_IF_ERROR(CheckName(name));
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto found, Find(project, name));
  if (!found) return Status::Ok();
  Wipe(found->value);
  auto batch = store_.NewBatch();
  batch.Delete(Cf::kMeta, found->key);
  return store_.Write(batch, /*sync=*/true);
}

Status ProjectSecrets::Reseal(uint32_t project) {
  std::lock_guard lock(mu_);
  const std::string prefix = MetaKey(MetaTag::kSecret, project);
  auto batch = store_.NewBatch();
  auto it = store_.NewIterator(Cf::kMeta);
  std::string plain;
  Status s = Status::Ok();
  for (it->Seek(prefix); s.ok() && it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Wipe(plain);
    s = cipher_.Open(project, crypto::RecordKind::kProjectSecret, it->key(), it->value(), &plain);
    std::string sealed;
    if (s.ok()) {
      s = cipher_.Seal(project, crypto::RecordKind::kProjectSecret, it->key(), plain, &sealed);
    }
    if (s.ok()) batch.Put(Cf::kMeta, it->key(), sealed);
  }
  Wipe(plain);
  SENSORDB_RETURN_IF_ERROR(s);
  SENSORDB_RETURN_IF_ERROR(it->status());
  return store_.Write(batch, /*sync=*/true);
}

}  // namespace sensordb::catalog
