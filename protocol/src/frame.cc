#include "sensordb/protocol/frame.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <utility>

namespace sensordb::protocol {
namespace {

// The first allocation for a frame; it then doubles as bytes arrive, capped at the frame size,
// so a header announcing 16 MiB followed by silence costs 64 KiB, not 16 MiB.
constexpr size_t kInitialPayloadReserve = 64 * 1024;

uint32_t LoadBigEndian32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// A hint when the "length" is really text: a peer speaking HTTP or a line protocol here.
std::string TextHint(const std::array<uint8_t, kFrameHeaderBytes>& header) {
  for (uint8_t c : header) {
    if (!std::isprint(c)) return "";
  }
  return " (the stream starts with \"" + std::string(header.begin(), header.end()) +
         "\": a text protocol such as HTTP on the native protocol port?)";
}

}  // namespace

OutFrame::OutFrame(flatbuffers::DetachedBuffer payload) : payload_(std::move(payload)) {
  const auto n = static_cast<uint32_t>(payload_.size());
  header_ = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
}

OutFrame OutFrame::Raw(std::vector<uint8_t> bytes) {
  OutFrame f;
  f.raw_ = true;
  f.raw_bytes_ = std::move(bytes);
  return f;
}

void OutFrame::AppendTo(std::vector<uint8_t>& out) const {
  const auto h = header(), p = payload();
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), p.begin(), p.end());
}

std::vector<uint8_t> OutFrame::ToBytes() const {
  std::vector<uint8_t> out;
  out.reserve(size());
  AppendTo(out);
  return out;
}

OutFrame FinishEnvelope(flatbuffers::FlatBufferBuilder& fbb, uint64_t request_id,
                        wire::Message type, flatbuffers::Offset<void> message) {
  auto envelope = wire::CreateEnvelope(fbb, request_id, type, message);
  wire::FinishEnvelopeBuffer(fbb, envelope);
  return OutFrame(fbb.Release());
}

Result<Frame> VerifyFrame(std::vector<uint8_t> payload, uint32_t max_frame_bytes) {
  const size_t n = payload.size();
  if (n > max_frame_bytes) {
    return Err(Status::ResourceExhausted("frame of " + std::to_string(n) +
                                         " bytes exceeds the maximum of " +
                                         std::to_string(max_frame_bytes) + " bytes"));
  }
  if (n == 0) return Err(Status::InvalidArgument("malformed frame: empty payload"));
  // Verification offsets are relative to the buffer start; a heap block is aligned beyond any
  // FlatBuffers scalar, so they are absolute alignments too.
  if (reinterpret_cast<uintptr_t>(payload.data()) % alignof(std::max_align_t) != 0) {
    return Err(Status::Internal("frame buffer is not aligned"));
  }
  if (n < 8 || !wire::EnvelopeBufferHasIdentifier(payload.data())) {
    return Err(Status::InvalidArgument(
        "malformed frame: " + std::to_string(n) +
        " bytes that are not a sensordb envelope (file identifier \"SDB1\" missing)"));
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = 16;
  // Each table reached costs at least one 4-byte offset, so this bounds the verifier's work by
  // the frame size. (Query.labels nests vectors of tables; tables shared by several offsets are
  // verified once per offset, still counted against max_tables, and DecodeQuery stops at 256
  // conditions.)
  options.max_tables = std::max<uint32_t>(1024, max_frame_bytes / 4);
  options.check_alignment = true;
  flatbuffers::Verifier verifier(payload.data(), n, options);
  if (!wire::VerifyEnvelopeBuffer(verifier)) {
    return Err(Status::InvalidArgument("malformed frame: flatbuffer verification failed (" +
                                       std::to_string(n) + " bytes)"));
  }
  Frame frame(std::move(payload));
  if (frame.type() == wire::Message::NONE) {
    return Err(Status::InvalidArgument("malformed frame: the envelope carries no message"));
  }
  return frame;
}

bool IsKnownMessage(wire::Message type) {
  return type > wire::Message::NONE && type <= wire::Message::MAX;
}

std::string MessageName(wire::Message type) {
  if (!IsKnownMessage(type)) {
    return "unknown message type " + std::to_string(static_cast<unsigned>(type));
  }
  return wire::EnumNameMessage(type);
}

FrameDecoder::FrameDecoder(uint32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

Status FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  while (status_.ok() && !bytes.empty()) {
    if (header_have_ < kFrameHeaderBytes) {
      const size_t take = std::min(kFrameHeaderBytes - header_have_, bytes.size());
      std::memcpy(header_.data() + header_have_, bytes.data(), take);
      header_have_ += take;
      bytes = bytes.subspan(take);
      if (header_have_ == kFrameHeaderBytes) StartPayload();
      continue;
    }
    const size_t take = std::min<size_t>(payload_bytes_ - payload_.size(), bytes.size());
    if (payload_.capacity() < payload_.size() + take) {
      payload_.reserve(std::min<size_t>(payload_bytes_,
                                        std::max(2 * payload_.capacity(), payload_.size() + take)));
    }
    payload_.insert(payload_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    if (payload_.size() == payload_bytes_) FinishPayload();
  }
  return status_;
}

void FrameDecoder::StartPayload() {
  payload_bytes_ = LoadBigEndian32(header_.data());
  if (payload_bytes_ > max_frame_bytes_) {
    status_ = Status::ResourceExhausted(
        "frame of " + std::to_string(payload_bytes_) + " bytes exceeds the maximum of " +
        std::to_string(max_frame_bytes_) + " bytes" + TextHint(header_));
    return;
  }
  if (payload_bytes_ == 0) {
    status_ = Status::InvalidArgument("malformed frame: empty payload");
    return;
  }
  payload_.clear();
  payload_.reserve(std::min<size_t>(payload_bytes_, kInitialPayloadReserve));
}

void FrameDecoder::FinishPayload() {
  Result<Frame> frame = VerifyFrame(std::exchange(payload_, {}), max_frame_bytes_);
  header_have_ = 0;
  payload_bytes_ = 0;
  if (!frame.has_value()) {
    status_ = std::move(frame).error();
    return;
  }
  ready_.push_back(std::move(*frame));
}

std::optional<Frame> FrameDecoder::Next() {
  if (ready_.empty()) return std::nullopt;
  Frame frame = std::move(ready_.front());
  ready_.pop_front();
  return frame;
}

}  // namespace sensordb::protocol
