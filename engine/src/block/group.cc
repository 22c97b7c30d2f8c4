#include "block/group.h"

#include <algorithm>
#include <limits>

#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

// A group holds at most this many members (a group of short blocks holds a few thousand), and
// a member at most this many bytes (a short block holds a few KiB).
constexpr uint64_t kMaxMembers = 1 << 20;
constexpr uint64_t kMaxBodyBytes = 64 << 20;
// What DecompressBody accepts (block.cc): a frame the decoder would refuse is never written.
constexpr uint64_t kMaxFrameBytes = 256 << 20;

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
  // The member table and the members' vectors, compressed together: the table's deltas and
  // the members' shared timestamps are where zstd finds its repeats.
  std::string frame, plain;
  int64_t max_ts = std::numeric_limits<int64_t>::min();
  PutVarint64(&frame, members.size());
  store::BlockKey prev;
  for (const GroupMember& m : members) {
    frame.push_back(char(m.summary.type));
    PutVarint64(&frame, ZigZagEncode(int64_t(m.key.series - prev.series)));
    PutVarint64(&frame, ZigZagEncode(int64_t(uint64_t(m.key.min_ts) - uint64_t(prev.min_ts))));
    PutVarint64(&frame, ZigZagEncode(int64_t(m.key.block_seq - prev.block_seq)));
    PutVarint64(&frame, m.body.size());
    prev = m.key;
    max_ts = std::max(max_ts, m.summary.max_ts);
  }
  for (const GroupMember& m : members) {
    if (m.body.size() > kMaxBodyBytes) {
      return Err(Status::InvalidArgument("a group member holds at most " +
                                         std::to_string(kMaxBodyBytes) + " bytes"));
    }
    frame.append(m.body);
  }
  if (frame.size() > kMaxFrameBytes) {
    return Err(Status::InvalidArgument("a group holds at most " + std::to_string(kMaxFrameBytes) +
                                       " bytes of members"));
  }
  PutFixed64BE(&plain, OrderedFromSigned(max_ts));  // the header's, authenticated
  CompressBody(frame, options, &plain);
  std::string value;
  value.push_back(char(kGroupFormatVersion));
  PutFixed64BE(&value, OrderedFromSigned(max_ts));
  SENSORDB_RETURN_IF_ERROR(
      cipher.Seal(project, crypto::RecordKind::kGroup, GroupAd(group_key, value), plain, &value));
  return value;
}

bool ParseGroupValue(std::string_view value, BlockView* view) {
  return ParseSealedValue(value, kGroupFormatVersion, view);
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
  uint64_t sealed_max;
  if (!GetFixed64BE(&in, &sealed_max) || SignedFromOrdered(sealed_max) != view.max_ts) {
    return Status::Corruption("group header disagrees with its contents");
  }
  SENSORDB_RETURN_IF_ERROR(DecompressBody(in, &scratch_, &in));
  uint64_t n;
  // Each member takes at least 5 bytes of the table: a count the frame cannot hold is refused
  // before anything is allocated for it.
  if (!GetVarint64(&in, &n) || n == 0 || n > kMaxMembers || n > in.size() / 5) {
    return Status::Corruption("group has a bad member count");
  }
  members_.resize(n);
  size_t offset = 0;
  store::BlockKey prev;
  for (Member& m : members_) {
    uint64_t series, min_ts, seq, size;
    if (in.empty() || uint8_t(in[0]) < 1 || uint8_t(in[0]) > 3) {
      members_.clear();
      return Status::Corruption("group member table is malformed");
    }
    m.type = ValueType(uint8_t(in[0]));
    in.remove_prefix(1);
    if (!GetVarint64(&in, &series) || !GetVarint64(&in, &min_ts) || !GetVarint64(&in, &seq) ||
        !GetVarint64(&in, &size) || size > kMaxBodyBytes) {
      members_.clear();
      return Status::Corruption("group member table is malformed");
    }
    m.key.project = project;
    m.key.series = prev.series + uint64_t(ZigZagDecode(series));
    m.key.min_ts = int64_t(uint64_t(prev.min_ts) + uint64_t(ZigZagDecode(min_ts)));
    m.key.block_seq = prev.block_seq + uint64_t(ZigZagDecode(seq));
    prev = m.key;
    m.offset = offset;
    m.size = size_t(size);
    offset += m.size;
  }
  if (in.size() != offset) {
    members_.clear();
    return Status::Corruption("group body length disagrees with its member table");
  }
  body_ = in;
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
      m.key.block_seq != key.block_seq) {
    return Status::Corruption("slot " + std::to_string(ref.slot) + " of group " +
                              std::to_string(id_) + " holds another block than its reference (" +
                              Describe(key) + ")");
  }
  // The summary is the member's points', computed here (a stored one would cost ~60 bytes per
  // member, more than the points of a short one).
  PointColumn points;
  Status s = DecodeMember(ref.slot, &points);
  if (!s.ok()) {
    return Status(s.code(), s.message() + " (slot " + std::to_string(ref.slot) + " of group " +
                                std::to_string(id_) + ", " + Describe(key) + ")");
  }
  out->summary = Summary::Of(points);
  if (out->summary.max_ts != ref.max_ts) {
    return Status::Corruption("slot " + std::to_string(ref.slot) + " of group " +
                              std::to_string(id_) + " holds another block than its reference (" +
                              Describe(key) + ")");
  }
  out->plain.clear();
  out->plain.push_back('\0');  // flags: raw
  out->plain.append(body_.substr(m.offset, m.size));
  out->data = out->plain;
  out->points = std::move(points);
  out->decoded = true;
  return Status::Ok();
}

store::BlockKey OpenedGroup::MemberKey(size_t slot) const { return members_.at(slot).key; }

Status OpenedGroup::DecodeMember(size_t slot, PointColumn* out) const {
  const Member& m = members_.at(slot);
  out->clear();
  out->type = m.type;
  SENSORDB_RETURN_IF_ERROR(DecodeVectors(body_.substr(m.offset, m.size), out));
  if (out->empty() || !std::is_sorted(out->ts.begin(), out->ts.end())) {
    return Status::Corruption("member holds no points or unsorted points");
  }
  return Status::Ok();
}

}  // namespace sensordb::block
