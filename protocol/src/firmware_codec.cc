// Firmware transfer messages (firmware_codec.h). Every byte string a peer sends is bounded here.
#include "sensordb/protocol/firmware_codec.h"

#include <string>

namespace sensordb::protocol {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

Offset<flatbuffers::String> Str(FlatBufferBuilder& fbb, std::string_view s) {
  return fbb.CreateString(s.data(), s.size());
}

Offset<flatbuffers::Vector<uint8_t>> Bytes(FlatBufferBuilder& fbb, std::span<const uint8_t> b) {
  return fbb.CreateVector(b.data(), b.size());
}

Result<std::span<const uint8_t>> CheckBytes(const flatbuffers::Vector<uint8_t>* v,
                                            std::string_view what, size_t max_bytes,
                                            bool required) {
  if (v == nullptr || v->size() == 0) {
    if (required) return Err(Status::InvalidArgument(std::string(what) + " is missing"));
    return std::span<const uint8_t>();
  }
  if (v->size() > max_bytes) {
    return Err(Status::InvalidArgument(std::string(what) + " is " + std::to_string(v->size()) +
                                       " bytes; at most " + std::to_string(max_bytes)));
  }
  return std::span<const uint8_t>(v->data(), v->size());
}

}  // namespace

OutFrame EncodeGetFirmwareOffer(uint64_t request_id, const FirmwareOfferRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto nonce = Bytes(fbb, request.nonce);
  auto model = Str(fbb, request.model);
  auto version = Str(fbb, request.version);
  auto msg = wire::CreateGetFirmwareOffer(fbb, project, nonce, model, version,
                                          request.security_version, request.root_version);
  return FinishEnvelope(fbb, request_id, wire::Message::GetFirmwareOffer, msg.Union());
}

Result<FirmwareOfferRequest> DecodeGetFirmwareOffer(const wire::GetFirmwareOffer& request) {
  FirmwareOfferRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project,
                            CheckString(request.project(), "project name", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.nonce,
                            CheckBytes(request.nonce(), "nonce", kFirmwareNonceBytes, true));
  if (out.nonce.size() != kFirmwareNonceBytes) {
    return Err(Status::InvalidArgument("nonce is " + std::to_string(out.nonce.size()) +
                                       " bytes; it must be " +
                                       std::to_string(kFirmwareNonceBytes)));
  }
  SENSORDB_ASSIGN_OR_RETURN(out.model,
                            CheckString(request.model(), "hardware model", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.version,
                            CheckString(request.version(), "version", kMaxNameBytes, false));
  out.security_version = request.security_version();
  out.root_version = request.root_version();
  return out;
}

OutFrame EncodeFirmwareOffer(uint64_t request_id, const FirmwareOfferView& reply) {
  size_t size = 256 + reply.statement.size() + reply.manifest.size();
  for (const auto& r : reply.roots) size += r.size() + 16;
  FlatBufferBuilder fbb(size);
  std::vector<Offset<wire::FirmwareFile>> roots;
  roots.reserve(reply.roots.size());
  for (const auto& r : reply.roots) roots.push_back(wire::CreateFirmwareFile(fbb, Bytes(fbb, r)));
  auto roots_vec = fbb.CreateVector(roots);
  auto statement = Bytes(fbb, reply.statement);
  Offset<flatbuffers::Vector<uint8_t>> manifest;
  if (!reply.manifest.empty()) manifest = Bytes(fbb, reply.manifest);
  auto msg = wire::CreateFirmwareOffer(fbb, statement, manifest, reply.image_id, reply.image_length,
                                       roots_vec);
  return FinishEnvelope(fbb, request_id, wire::Message::FirmwareOffer, msg.Union());
}

Result<FirmwareOfferView> DecodeFirmwareOffer(const wire::FirmwareOffer& reply) {
  FirmwareOfferView out;
  SENSORDB_ASSIGN_OR_RETURN(out.statement, CheckBytes(reply.statement(), "freshness statement",
                                                      kMaxFirmwareFileBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.manifest,
                            CheckBytes(reply.manifest(), "manifest", kMaxFirmwareFileBytes, false));
  out.image_id = reply.image_id();
  out.image_length = reply.image_length();
  if (out.manifest.empty() != (out.image_id == 0)) {
    return Err(
        Status::InvalidArgument("an offer carries both a manifest and an image id, or "
                                "neither"));
  }
  if (const auto* roots = reply.roots()) {
    if (roots->size() > kMaxFirmwareRoots) {
      return Err(Status::InvalidArgument("an offer carries " + std::to_string(roots->size()) +
                                         " roots; at most " + std::to_string(kMaxFirmwareRoots)));
    }
    for (const auto* r : *roots) {
      SENSORDB_ASSIGN_OR_RETURN(auto bytes,
                                CheckBytes(r->bytes(), "root", kMaxFirmwareFileBytes, true));
      out.roots.push_back(bytes);
    }
  }
  return out;
}

OutFrame EncodeReadFirmware(uint64_t request_id, const ReadFirmwareRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto msg =
      wire::CreateReadFirmware(fbb, project, request.image_id, request.offset, request.length);
  return FinishEnvelope(fbb, request_id, wire::Message::ReadFirmware, msg.Union());
}

Result<ReadFirmwareRequest> DecodeReadFirmware(const wire::ReadFirmware& request) {
  ReadFirmwareRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project,
                            CheckString(request.project(), "project name", kMaxNameBytes, true));
  out.image_id = request.image_id();
  out.offset = request.offset();
  out.length = request.length();
  if (out.image_id == 0) return Err(Status::InvalidArgument("image id is missing"));
  if (out.length == 0 || out.length > kMaxFirmwareReadBytes) {
    return Err(Status::InvalidArgument("read length " + std::to_string(out.length) +
                                       " is outside 1 .. " +
                                       std::to_string(kMaxFirmwareReadBytes)));
  }
  return out;
}

OutFrame EncodeFirmwareData(uint64_t request_id, const FirmwareDataView& reply) {
  FlatBufferBuilder fbb(64 + reply.bytes.size());
  auto bytes = Bytes(fbb, reply.bytes);
  auto msg = wire::CreateFirmwareData(fbb, reply.offset, bytes);
  return FinishEnvelope(fbb, request_id, wire::Message::FirmwareData, msg.Union());
}

Result<FirmwareDataView> DecodeFirmwareData(const wire::FirmwareData& reply) {
  FirmwareDataView out;
  out.offset = reply.offset();
  SENSORDB_ASSIGN_OR_RETURN(
      out.bytes, CheckBytes(reply.bytes(), "firmware data", kMaxFirmwareReadBytes, false));
  return out;
}

}  // namespace sensordb::protocol
