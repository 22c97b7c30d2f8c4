#include "system/system_store_impl.h"

#include "crypto/secret_key.h"
#include "sensordb/coding.h"
#include "store/keys.h"
#include "util/atomic_file.h"

namespace sensordb::system {
namespace {

using store::Cf;

constexpr char kTag = 'Y';
constexpr char kNamed = 1, kNumbered = 2, kHashKeyRecord = 0;
constexpr size_t kHashBytes = 32;

std::string SpacePrefix(SystemSpace space, char kind) {
  std::string k(1, kTag);
  k.push_back(char(space));
  k.push_back(kind);
  return k;
}

std::string NumberedKey(SystemSpace space, uint64_t id) {
  std::string k = SpacePrefix(space, kNumbered);
  PutFixed64BE(&k, id);
  return k;
}

std::string HashKeyRecordKey() { return std::string{kTag, 0, kHashKeyRecord}; }

}  // namespace

SystemStoreImpl::~SystemStoreImpl() = default;

Result<std::string> SystemStoreImpl::Open(std::string_view key, std::string_view sealed) const {
  std::string plain;
  SENSORDB_RETURN_IF_ERROR(
      cipher_.Open(kSystemProject, crypto::RecordKind::kSystem, key, sealed, &plain));
  return plain;
}

Status SystemStoreImpl::LoadHashKey() {
  std::lock_guard lock(mu_);
  if (hash_key_) return Status::Ok();
  const std::string key = HashKeyRecordKey();
  SENSORDB_ASSIGN_OR_RETURN(auto stored, store_.Get(Cf::kMeta, key));
  if (stored) {
    SENSORDB_ASSIGN_OR_RETURN(std::string k, Open(key, *stored));
    auto loaded = crypto::SecretKey::FromBytes(
        {reinterpret_cast<const uint8_t*>(k.data()), k.size()});
    crypto::WipeString(k);
    if (!loaded) {
      return Status::Corruption("system name-hash key is malformed: " +
                                loaded.error().message());
    }
    hash_key_ = std::move(*loaded);
    return Status::Ok();
  }
  SENSORDB_ASSIGN_OR_RETURN(crypto::SecretKey made, crypto::SecretKey::Random());
  std::string sealed;
  SENSORDB_RETURN_IF_ERROR(cipher_.Seal(
      kSystemProject, crypto::RecordKind::kSystem, key,
      {reinterpret_cast<const char*>(made.data()), crypto::SecretKey::kSize}, &sealed));
  auto batch = store_.NewBatch();
  batch.Put(Cf::kMeta, key, sealed);
  SENSORDB_RETURN_IF_ERROR(store_.Write(batch, /*sync=*/true));
  hash_key_ = std::move(made);
  return Status::Ok();
}

Result<std::string> SystemStoreImpl::NamedKey(SystemSpace space, std::string_view name) {
  SENSORDB_RETURN_IF_ERROR(LoadHashKey());
  std::string k = SpacePrefix(space, kNamed);
  const size_t at = k.size();
  k.resize(at + kHashBytes);
  crypto::KeyedHash(*hash_key_, name, {reinterpret_cast<uint8_t*>(k.data() + at), kHashBytes});
  return k;
}

Status SystemStoreImpl::Apply(std::span<const Op> ops) {
  auto batch = store_.NewBatch();
  std::string plain, sealed;
  for (const Op& op : ops) {
    const bool named = op.kind == Op::Kind::kPutNamed || op.kind == Op::Kind::kDeleteNamed;
    std::string key;
    if (named) {
      SENSORDB_ASSIGN_OR_RETURN(key, NamedKey(op.space, op.name));
    } else {
      key = NumberedKey(op.space, op.id);
    }
    if (op.kind == Op::Kind::kDeleteNamed || op.kind == Op::Kind::kDeleteNumbered) {
      batch.Delete(Cf::kMeta, key);
      continue;
    }
    plain.clear();
    if (named) PutLengthPrefixed(&plain, op.name);  // so a scan can return the name
    plain.append(op.value);
    sealed.clear();
    SENSORDB_RETURN_IF_ERROR(
        cipher_.Seal(kSystemProject, crypto::RecordKind::kSystem, key, plain, &sealed));
    batch.Put(Cf::kMeta, key, sealed);
  }
  return store_.Write(batch, /*sync=*/true);
}

Result<std::optional<std::string>> SystemStoreImpl::GetNamed(SystemSpace space,
                                                             std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(std::string key, NamedKey(space, name));
  SENSORDB_ASSIGN_OR_RETURN(auto stored, store_.Get(Cf::kMeta, key));
  if (!stored) return std::optional<std::string>();
  SENSORDB_ASSIGN_OR_RETURN(std::string plain, Open(key, *stored));
  std::string_view in = plain, stored_name;
  if (!GetLengthPrefixed(&in, &stored_name) || stored_name != name) {
    return Err(Status::Corruption("system record does not hold the name it is stored under"));
  }
  return std::optional<std::string>(std::string(in));
}

Result<std::optional<std::string>> SystemStoreImpl::GetNumbered(SystemSpace space, uint64_t id) {
  const std::string key = NumberedKey(space, id);
  SENSORDB_ASSIGN_OR_RETURN(auto stored, store_.Get(Cf::kMeta, key));
  if (!stored) return std::optional<std::string>();
  SENSORDB_ASSIGN_OR_RETURN(std::string plain, Open(key, *stored));
  return std::optional<std::string>(std::move(plain));
}

Status SystemStoreImpl::ScanNamed(
    SystemSpace space, const std::function<bool(std::string_view, std::string_view)>& fn) {
  const std::string prefix = SpacePrefix(space, kNamed);
  auto it = store_.NewIterator(Cf::kMeta);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    SENSORDB_ASSIGN_OR_RETURN(std::string plain, Open(it->key(), it->value()));
    std::string_view in = plain, name;
    if (!GetLengthPrefixed(&in, &name)) return Status::Corruption("system record is malformed");
    if (!fn(name, in)) break;
  }
  return it->status();
}

Status SystemStoreImpl::ScanNumbered(SystemSpace space, uint64_t from_id,
                                     const std::function<bool(uint64_t, std::string_view)>& fn) {
  const std::string prefix = SpacePrefix(space, kNumbered);
  auto it = store_.NewIterator(Cf::kMeta);
  for (it->Seek(NumberedKey(space, from_id)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    SENSORDB_ASSIGN_OR_RETURN(std::string plain, Open(it->key(), it->value()));
    if (!fn(DecodeFixed64BE(it->key().data() + prefix.size()), plain)) break;
  }
  return it->status();
}

namespace {

constexpr size_t kMaxFileRecordBytes = 64 * 1024;

// The associated data of a file record: cannot be the RocksDB key of any record ('Y' ...).
std::string FileRecordAd(std::string_view name) { return "file/" + std::string(name); }

bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

}  // namespace

Status SystemStoreImpl::PutFileRecord(std::string_view name, std::string_view value) {
  if (!IsPlainFileName(name)) return Status::InvalidArgument("bad file record name");
  std::string sealed;
  SENSORDB_RETURN_IF_ERROR(cipher_.Seal(kSystemProject, crypto::RecordKind::kSystem,
                                        FileRecordAd(name), value, &sealed));
  return ReplaceFileDurably(dir_ + "/" + std::string(name), sealed);
}

Result<std::optional<std::string>> SystemStoreImpl::GetFileRecord(std::string_view name) {
  if (!IsPlainFileName(name)) return Err(Status::InvalidArgument("bad file record name"));
  const std::string path = dir_ + "/" + std::string(name);
  SENSORDB_ASSIGN_OR_RETURN(auto sealed, ReadWholeFile(path, kMaxFileRecordBytes));
  if (!sealed) return std::optional<std::string>();
  std::string plain;
  const Status s = cipher_.Open(kSystemProject, crypto::RecordKind::kSystem, FileRecordAd(name),
                                *sealed, &plain);
  if (!s.ok()) {
    return Err(Status::Corruption(path + " does not open (altered, damaged, or sealed by "
                                  "another database): " + s.message()));
  }
  return std::optional<std::string>(std::move(plain));
}

Result<uint64_t> SystemStoreImpl::LastNumbered(SystemSpace space) {
  const std::string prefix = SpacePrefix(space, kNumbered);
  auto it = store_.NewIterator(Cf::kMeta);
  it->SeekForPrev(store::PrefixEnd(prefix));
  if (it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 8) {
    return DecodeFixed64BE(it->key().data() + prefix.size());
  }
  SENSORDB_RETURN_IF_ERROR(it->status());
  return uint64_t{0};
}

}  // namespace sensordb::system
