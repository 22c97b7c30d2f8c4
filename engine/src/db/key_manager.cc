#include "db/key_manager.h"

#include <algorithm>

#include "block/block.h"
#include "store/keys.h"
#include "util/coding.h"

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

Result<std::string> SealSeriesState(const crypto::Cipher& cipher, uint32_t project,
                                    uint64_t series, uint64_t sealed_seq, int64_t max_span_ns) {
  std::string plain, sealed;
  PutVarint64(&plain, sealed_seq);
  PutVarint64(&plain, ZigZagEncode(max_span_ns));
  const std::string key = store::MetaKey(store::MetaTag::kSeriesState, project, series);
  SENSORDB_RETURN_IF_ERROR_R(
      cipher.Seal(project, crypto::RecordKind::kCatalog, key, plain, &sealed));
  return sealed;
}

Status KeyManager::Census(uint32_t project, std::vector<KeyVersionStatus>* versions) {
  const std::string prefix = store::ProjectPrefix(project);
  SENSORDB_RETURN_IF_ERROR(Scan(store_, Cf::kBlocks, prefix, [&](auto, std::string_view v) {
    block::BlockView view;
    if (!block::ParseBlockValue(v, &view)) return Status::Corruption("malformed block value");
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
  for (auto tag : {store::MetaTag::kProject, store::MetaTag::kDevice, store::MetaTag::kSeries,
                   store::MetaTag::kSeriesState}) {
    SENSORDB_RETURN_IF_ERROR(
        Scan(store_, Cf::kMeta, store::MetaKey(tag, project), [&](auto, std::string_view v) {
          auto& e = VersionEntry(versions, cipher_.KeyVersionOf(v));
          ++e.catalog_records;
          e.bytes += v.size();
          return Status::Ok();
        }));
  }
  return Status::Ok();
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
    SENSORDB_RETURN_IF_ERROR_R(Census(p->id, &ps.versions));
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
  Status st = Scan(store_, Cf::kBlocks, prefix, [&](std::string_view k, std::string_view v) {
    block::BlockView view;
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
    batch.Put(Cf::kBlocks, k, value);
    ++done;
    if (batch.Count() >= 1024) {
      SENSORDB_RETURN_IF_ERROR(store_.Write(batch, false));
      batch.Clear();
      if (progress) progress(done, total);
    }
    return Status::Ok();
  });
  SENSORDB_RETURN_IF_ERROR_R(st);
  if (batch.Count()) SENSORDB_RETURN_IF_ERROR_R(store_.Write(batch, true));
  if (progress) progress(done, std::max(done, total));
  return done;
}

Status KeyManager::ResealSeriesStates(uint32_t project) {
  auto batch = store_.NewBatch();
  SENSORDB_RETURN_IF_ERROR(head_.ForEachInProject(project, [&](const head::MemSeries& s) {
    if (s.sealed_seq == 0) return Status::Ok();  // never sealed: no state record
    SENSORDB_ASSIGN_OR_RETURN(std::string v, SealSeriesState(cipher_, project, s.id, s.sealed_seq,
                                                             s.max_span_ns));
    batch.Put(Cf::kMeta, store::MetaKey(store::MetaTag::kSeriesState, project, s.id), v);
    return Status::Ok();
  }));
  return store_.Write(batch, true);
}

Status KeyManager::Reencrypt(catalog::ProjectMeta& project, const std::function<Status()>& flush,
                             const ProgressCallback& progress) {
  SENSORDB_ASSIGN_OR_RETURN(crypto::DataKey active, keyring_.Active(project.id));
  const uint32_t newest = active.version;
  // Writes racing with the rotation may still seal a head record with an older version, so
  // check and repeat; each round only has the few values written meanwhile to do.
  for (int round = 0; round < 5; ++round) {
    std::vector<KeyVersionStatus> census;
    SENSORDB_RETURN_IF_ERROR(Census(project.id, &census));
    uint64_t old_blocks = 0, old_other = 0;
    for (const auto& e : census) {
      if (e.version >= newest) continue;
      old_blocks += e.blocks;
      old_other += e.head_records + e.catalog_records;
    }
    if (old_blocks == 0 && old_other == 0) {
      return keyring_.DestroyVersionsBelow(project.id, newest);
    }
    SENSORDB_RETURN_IF_ERROR(flush());  // head records become blocks under the newest key
    SENSORDB_RETURN_IF_ERROR(catalog_.Reseal(project));
    SENSORDB_RETURN_IF_ERROR(ResealSeriesStates(project.id));
    SENSORDB_ASSIGN_OR_RETURN(uint64_t n, ResealBlocks(project.id, newest, old_blocks, progress));
    (void)n;
  }
  return Status::FailedPrecondition("project '" + project.name +
                                    "' still has values under old keys after 5 rounds; retry");
}

}  // namespace sensordb
