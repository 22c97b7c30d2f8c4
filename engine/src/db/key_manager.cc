#include "db/key_manager.h"

#include <algorithm>

#include "block/block.h"
#include "block/group.h"
#include "sensordb/coding.h"
#include "store/keys.h"

namespace sensordb {
namespace {

using store::Cf;

KeyVersionStatus& VersionEntry(std::vector<KeyVersionStatus>* versions, uint32_t v) {
  for (auto& e : *versions) {
    if (e.version == v) return e;
  }
  versions->push_back({});
  versions->back().version = v;
  return versions->back();
}

// Calls fn(key, value) for every key of `cf` that starts with `prefix`.
Status Scan(store::Store& store, Cf cf, const std::string& prefix,
            const std::function<Status(std::string_view, std::string_view)>& fn) {
  auto it = store.NewIterator(cf);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    SENSORDB_RETURN_IF_ERROR(fn(it->key(), it->value()));
  }
  return it->status();
}

}  // namespace

Status KeyManager::Census(uint32_t project, std::vector<KeyVersionStatus>* versions) {
  const std::string prefix = store::ProjectPrefix(project);
  SENSORDB_RETURN_IF_ERROR(Scan(store_, Cf::kBlocks, prefix, [&](auto, std::string_view v) {
    block::BlockView view;
    block::GroupRef ref;
    if (block::ParseGroupRef(v, &ref)) return Status::Ok();  // sealed in its group, below
    if (!block::ParseBlockValue(v, &view)) return Status::Corruption("malformed block value");
    auto& e = VersionEntry(versions, cipher_.KeyVersionOf(view.sealed));
    ++e.blocks;
    e.bytes += v.size();
    return Status::Ok();
  }));
  SENSORDB_RETURN_IF_ERROR(Scan(store_, Cf::kGroups, prefix, [&](auto, std::string_view v) {
    block::BlockView view;
    if (!block::ParseGroupValue(v, &view)) return Status::Corruption("malformed group value");
    auto& e = VersionEntry(versions, cipher_.KeyVersionOf(view.sealed));
    ++e.blocks;
    e.bytes += v.size();
    return Status::Ok();
  }));
  SENSORDB_RETURN_IF_ERROR(Scan(store_, Cf::kHead, prefix, [&](auto, std::string_view v) {
    auto& e = VersionEntry(versions, cipher_.KeyVersionOf(v));
    ++e.head_records;
    e.bytes += v.size();
    return Status::Ok();
  }));
  // Project secrets count as catalog records: they live beside them and are re-sealed with them.
  for (auto tag : {store::MetaTag::kProject, store::MetaTag::kDevice, store::MetaTag::kSeries,
                   store::MetaTag::kLabels, store::MetaTag::kSecret}) {
    SENSORDB_RETURN_IF_ERROR(
        Scan(store_, Cf::kMeta, store::MetaKey(tag, project), [&](auto, std::string_view v) {
          auto& e = VersionEntry(versions, cipher_.KeyVersionOf(v));
          ++e.catalog_records;
          e.bytes += v.size();
          return Status::Ok();
        }));
  }
  return files_.Census(project,
                       [&](uint32_t v) -> KeyVersionStatus& { return VersionEntry(versions, v); });
}

Result<KeyStatusReport> KeyManager::Report() {
  KeyStatusReport r;
  r.master_key_fingerprint = keyring_.fingerprint();
  r.kdf = keyring_.kdf_name();
  for (const auto& p : catalog_.Projects()) {
    ProjectKeyStatus ps;
    ps.project = p->name;
    ps.project_id = p->id;
    const auto keys = keyring_.Versions(p->id);
    for (const auto& k : keys) {
      auto& e = VersionEntry(&ps.versions, k.version);
      e.created_unix_s = k.created_unix_s;
      e.active = &k == &keys.back();
    }
    SENSORDB_RETURN_IF_ERROR(Census(p->id, &ps.versions));
    std::sort(ps.versions.begin(), ps.versions.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
    r.projects.push_back(std::move(ps));
  }
  return r;
}

Result<uint64_t> KeyManager::ResealBlocks(uint32_t project, uint32_t newest, uint64_t total,
                                          const ProgressCallback& progress) {
  const std::string prefix = store::ProjectPrefix(project);
  auto batch = store_.NewBatch();
  uint64_t done = 0;
  block::OpenedBlock opened;
  std::string value;
  // Puts a resealed value; writes the batch (unsynced; the last one is synced) every `every`.
  auto put = [&](Cf cf, std::string_view k, std::string_view v, size_t every) -> Status {
    batch.Put(cf, k, v);
    ++done;
    if (batch.Count() < every) return Status::Ok();
    SENSORDB_RETURN_IF_ERROR(store_.Write(batch, false));
    batch.Clear();
    if (progress) progress(done, total);
    return Status::Ok();
  };
  Status st =
      Scan(store_, Cf::kBlocks, prefix, [&](std::string_view k, std::string_view v) -> Status {
        block::BlockView view;
        block::GroupRef ref;
        if (block::ParseGroupRef(v, &ref)) return Status::Ok();  // ResealGroups
        if (!block::ParseBlockValue(v, &view)) return Status::Corruption("malformed block value");
        if (cipher_.KeyVersionOf(view.sealed) >= newest) return Status::Ok();
        SENSORDB_RETURN_IF_ERROR(block::OpenBlock(cipher_, project, k, view, &opened));
        // Same plaintext, same key, same header: only the envelope changes.
        std::string plain;
        PutLengthPrefixed(&plain, [&] {
          std::string s;
          block::EncodeSummary(opened.summary, &s);
          return s;
        }());
        plain.append(opened.data);
        value.assign(view.header);
        std::string ad(k);
        ad.append(view.header);
        SENSORDB_RETURN_IF_ERROR(
            cipher_.Seal(project, crypto::RecordKind::kBlock, ad, plain, &value));
        return put(Cf::kBlocks, k, value, 1024);
      });
  SENSORDB_RETURN_IF_ERROR(st);
  // Groups: the same envelope change, one value for all its members.
  std::string resealed;
  st = Scan(store_, Cf::kGroups, prefix, [&](std::string_view k, std::string_view v) -> Status {
    block::BlockView view;
    if (k.size() != block::kGroupKeySize || !block::ParseGroupValue(v, &view)) {
      return Status::Corruption("malformed block group in project " + std::to_string(project));
    }
    if (cipher_.KeyVersionOf(view.sealed) >= newest) return Status::Ok();
    Status s = block::ResealGroup(cipher_, project, k, v, &resealed);
    if (!s.ok()) {
      return Status(s.code(), s.message() + " (block group " +
                                  std::to_string(DecodeFixed64BE(k.data() + 4)) + ")");
    }
    return put(Cf::kGroups, k, resealed, 64);
  });
  SENSORDB_RETURN_IF_ERROR(st);
  if (batch.Count()) SENSORDB_RETURN_IF_ERROR(store_.Write(batch, true));
  if (progress) progress(done, std::max(done, total));
  return done;
}

Status KeyManager::Reencrypt(catalog::ProjectMeta& project, const std::function<Status()>& flush,
                             const ProgressCallback& progress) {
  SENSORDB_ASSIGN_OR_RETURN(crypto::DataKey active, keyring_.Active(project.id));
  const uint32_t newest = active.version;
  std::vector<KeyVersionStatus> census;
  SENSORDB_RETURN_IF_ERROR(Census(project.id, &census));
  uint64_t old_blocks = 0;
  for (const auto& e : census) {
    if (e.version < newest) old_blocks += e.blocks;
  }
  // Head and seal records become blocks under the newest key and are truncated.
  SENSORDB_RETURN_IF_ERROR(flush());
  SENSORDB_RETURN_IF_ERROR(catalog_.Reseal(project));
  SENSORDB_RETURN_IF_ERROR(secrets_.Reseal(project.id));
  SENSORDB_RETURN_IF_ERROR(files_.Reseal(project.id, newest));
  SENSORDB_ASSIGN_OR_RETURN(uint64_t n, ResealBlocks(project.id, newest, old_blocks, progress));
  (void)n;
  return Status::Ok();
}

Result<bool> KeyManager::DestroyOlderIfUnused(const catalog::ProjectMeta& project) {
  SENSORDB_ASSIGN_OR_RETURN(crypto::DataKey active, keyring_.Active(project.id));
  std::vector<KeyVersionStatus> census;
  SENSORDB_RETURN_IF_ERROR(Census(project.id, &census));
  for (const auto& e : census) {
    if (e.version < active.version &&
        e.blocks + e.head_records + e.catalog_records + e.file_records > 0) {
      return false;
    }
  }
  SENSORDB_RETURN_IF_ERROR(keyring_.DestroyVersionsBelow(project.id, active.version));
  return true;
}

}  // namespace sensordb
