#include "block/group.h"

#include <algorithm>
#include <limits>

#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

// A group holds at most this many members (a group of short blocks holds a few thousand).
constexpr uint64_t kMaxMembers = 1 << 20;

std::string GroupAd(std::string_view group_key, std::string_view header) {
  std::string ad(group_key);
  ad.append(header);
  return ad;
}

std::string Describe(const store::BlockKey& k) {
  return "block of series " + std::to_string(k.series) + " starting at " + std::to_string(k.min_ts);
}

}  // namespace

std::string GroupKey(uint32_t project, uint64_t group_id) {
  std::string k;
  k.reserve(kGroupKeySize);
  PutFixed32BE(&k, project);
  PutFixed64BE(&k, group_id);
  return k;
}

std::string EncodeGroupRef(const GroupRef& ref) {
  std::string v;
  v.push_back(char(kGroupRefVersion));
  PutFixed64BE(&v, OrderedFromSigned(ref.max_ts));
  PutFixed64BE(&v, ref.group_id);
  PutVarint64(&v, ref.slot);
  return v;
}

bool ParseGroupRef(std::string_view value, GroupRef* ref) {
  if (value.size() < 17 || uint8_t(value[0]) != kGroupRefVersion) return false;
  ref->max_ts = SignedFromOrdered(DecodeFixed64BE(value.data() + 1));
  ref->group_id = DecodeFixed64BE(value.data() + 9);
  value.remove_prefix(17);
  uint64_t slot;
  if (!GetVarint64(&value, &slot) || !value.empty() || slot >= kMaxMembers) return false;
  ref->slot = uint32_t(slot);
  return true;
}

Result<std::string> EncodeGroupValue(const crypto::Cipher& cipher, uint32_t project,
                                     std::string_view group_key,
                                     const std::vector<GroupMember>& members,
                                     const BlockOptions& options) {
  if (members.empty() || members.size() > kMaxMembers) {
    return Err(
        Status::InvalidArgument("a group holds 1 to " + std::to_string(kMaxMembers) + " members"));
  }
  std::string plain, body, summary;
  int64_t max_ts = std::numeric_limits<int64_t>::min();
  PutVarint64(&plain, members.size());
  for (const GroupMember& m : members) {
    PutFixed64BE(&plain, m.key.series);
    PutFixed64BE(&plain, OrderedFromSigned(m.key.min_ts));
    PutFixed64BE(&plain, m.key.block_seq);
    summary.clear();
    EncodeSummary(m.summary, &summary);
    PutLengthPrefixed(&plain, summary);
    PutVarint64(&plain, m.body.size());
    body.append(m.body);
    max_ts = std::max(max_ts, m.summary.max_ts);
  }
  CompressBody(body, options, &plain);
  std::string value;
  value.push_back(char(kGroupFormatVersion));
  PutFixed64BE(&value, OrderedFromSigned(max_ts));
  SENSORDB_RETURN_IF_ERROR(
      cipher.Seal(project, crypto::RecordKind::kGroup, GroupAd(group_key, value), plain, &value));
  return value;
}

bool ParseGroupValue(std::string_view value, BlockView* view) {
  if (value.size() < 9 || uint8_t(value[0]) != kGroupFormatVersion) return false;
  view->header = value.substr(0, 9);
  view->max_ts = SignedFromOrdered(DecodeFixed64BE(value.data() + 1));
  view->sealed = value.substr(9);
  return true;
}

Status ResealGroup(const crypto::Cipher& cipher, uint32_t project, std::string_view group_key,
                   std::string_view value, std::string* out) {
  BlockView view;
  if (!ParseGroupValue(value, &view)) return Status::Corruption("malformed group value");
  std::string plain;
  const std::string ad = GroupAd(group_key, view.header);
  SENSORDB_RETURN_IF_ERROR(
      cipher.Open(project, crypto::RecordKind::kGroup, ad, view.sealed, &plain));
  out->assign(view.header);
  return cipher.Seal(project, crypto::RecordKind::kGroup, ad, plain, out);
}

Status OpenedGroup::Open(const crypto::Cipher& cipher, uint32_t project, std::string_view group_key,
                         std::string_view value) {
  members_.clear();
  id_ = 0;
  if (group_key.size() != kGroupKeySize) return Status::Corruption("malformed group key");
  BlockView view;
  if (!ParseGroupValue(value, &view)) return Status::Corruption("malformed group value");
  std::string_view in = view.sealed;
  if (cipher.IsPassthrough()) {
    plain_.assign(in);  // the value is not kept by the caller
  } else {
    plain_.clear();
    SENSORDB_RETURN_IF_ERROR(cipher.Open(project, crypto::RecordKind::kGroup,
                                         GroupAd(group_key, view.header), in, &plain_));
  }
  in = plain_;
  uint64_t n;
  if (!GetVarint64(&in, &n) || n == 0 || n > kMaxMembers) {
    return Status::Corruption("group has a bad member count");
  }
  members_.resize(n);
  size_t offset = 0;
  int64_t max_ts = std::numeric_limits<int64_t>::min();
  for (Member& m : members_) {
    uint64_t min_ts, size;
    std::string_view summary;
    m.key.project = project;
    if (!GetFixed64BE(&in, &m.key.series) || !GetFixed64BE(&in, &min_ts) ||
        !GetFixed64BE(&in, &m.key.block_seq) || !GetLengthPrefixed(&in, &summary) ||
        !DecodeSummary(summary, &m.summary) || !GetVarint64(&in, &size)) {
      members_.clear();
      return Status::Corruption("group member table is malformed");
    }
    m.key.min_ts = SignedFromOrdered(min_ts);
    m.offset = offset;
    m.size = size_t(size);
    offset += m.size;
    max_ts = std::max(max_ts, m.summary.max_ts);
  }
  Status s = DecompressBody(in, &scratch_, &body_);
  if (s.ok() && body_.size() != offset) s = Status::Corruption("group body length disagrees");
  if (s.ok() && max_ts != view.max_ts) s = Status::Corruption("group header disagrees");
  if (!s.ok()) {
    members_.clear();
    return s;
  }
  id_ = DecodeFixed64BE(group_key.data() + 4);
  return Status::Ok();
}

Status OpenedGroup::OpenMember(const store::BlockKey& key, const GroupRef& ref,
                               OpenedBlock* out) const {
  if (ref.slot >= members_.size()) {
    return Status::Corruption("reference to slot " + std::to_string(ref.slot) + " of group " +
                              std::to_string(id_) + ", which has " +
                              std::to_string(members_.size()) + " members (" + Describe(key) + ")");
  }
  const Member& m = members_[ref.slot];
  if (m.key.project != key.project || m.key.series != key.series || m.key.min_ts != key.min_ts ||
      m.key.block_seq != key.block_seq || m.summary.max_ts != ref.max_ts) {
    return Status::Corruption("slot " + std::to_string(ref.slot) + " of group " +
                              std::to_string(id_) + " holds another block than its reference (" +
                              Describe(key) + ")");
  }
  out->summary = m.summary;
  out->plain.clear();
  out->plain.push_back('\0');  // flags: raw
  out->plain.append(body_.substr(m.offset, m.size));
  out->data = out->plain;
  return Status::Ok();
}

store::BlockKey OpenedGroup::MemberKey(size_t slot) const { return members_.at(slot).key; }

}  // namespace sensordb::block
