/* Decoders of the firmware metadata (protocol/firmware_format.md). They read only within the
 * input, accept exactly one encoding of each value (minimal varints, no trailing bytes) and check
 * every bound before anything is used; verification happens on the body bytes as received. */
#include <string.h>

#include "ota_internal.h"
#include "sensordb/ota.h"

const uint8_t sdb_ota_manifest_tag[SDB_OTA_MANIFEST_TAG_LEN] = "sensordb-firmware-manifest";
const uint8_t sdb_ota_root_tag[SDB_OTA_ROOT_TAG_LEN] = "sensordb-firmware-root";
const uint8_t sdb_ota_freshness_tag[SDB_OTA_FRESHNESS_TAG_LEN] = "sensordb-firmware-freshness";

const char* sdb_ota_result_name(sdb_ota_result r) {
  switch (r) {
    case SDB_OTA_OK:
      return "ok";
    case SDB_OTA_MALFORMED:
      return "malformed";
    case SDB_OTA_UNSUPPORTED_FORMAT:
      return "unsupported-format";
    case SDB_OTA_BAD_SIGNATURE:
      return "bad-signature";
    case SDB_OTA_BELOW_THRESHOLD:
      return "below-threshold";
    case SDB_OTA_WRONG_PROJECT:
      return "wrong-project";
    case SDB_OTA_WRONG_DEVICE:
      return "wrong-device";
    case SDB_OTA_WRONG_MODEL:
      return "wrong-model";
    case SDB_OTA_WRONG_ROOT:
      return "wrong-root";
    case SDB_OTA_ROLLBACK:
      return "rollback";
    case SDB_OTA_EXPIRED:
      return "expired";
    case SDB_OTA_STALE_NONCE:
      return "stale-nonce";
    case SDB_OTA_NOT_OFFERED:
      return "not-offered";
    case SDB_OTA_LENGTH_MISMATCH:
      return "length-mismatch";
    case SDB_OTA_HASH_MISMATCH:
      return "hash-mismatch";
    case SDB_OTA_BAD_STATE:
      return "bad-state";
    case SDB_OTA_IO:
      return "io";
    case SDB_OTA_NO_CRYPTO:
      return "no-crypto";
  }
  return "unknown";
}

int sdb_ota_get_varint(sdb_ota_reader* r, uint64_t* v) {
  uint64_t result = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (i >= r->n) return 0;
    const uint8_t byte = r->p[i];
    if (i == 9 && byte > 1) return 0; /* past 64 bits */
    result |= (uint64_t)(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) {
      if (i > 0 && byte == 0) return 0; /* not minimal */
      r->p += i + 1;
      r->n -= i + 1;
      *v = result;
      return 1;
    }
  }
  return 0;
}

int sdb_ota_get_signed(sdb_ota_reader* r, int64_t* v) {
  uint64_t u;
  if (!sdb_ota_get_varint(r, &u)) return 0;
  *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
  return 1;
}

int sdb_ota_get_raw(sdb_ota_reader* r, uint8_t* out, size_t n) {
  if (r->n < n) return 0;
  memcpy(out, r->p, n);
  r->p += n;
  r->n -= n;
  return 1;
}

/* A length-prefixed byte string of 1..max bytes, none of them a control character. */
static int get_text(sdb_ota_reader* r, char* out, size_t max) {
  uint64_t n;
  if (!sdb_ota_get_varint(r, &n) || n == 0 || n > max || n > r->n) return 0;
  for (size_t i = 0; i < n; ++i) {
    if (r->p[i] < 0x20 || r->p[i] == 0x7f) return 0;
  }
  memcpy(out, r->p, (size_t)n);
  out[n] = '\0';
  r->p += n;
  r->n -= n;
  return 1;
}

int sdb_ota_valid_text(const char* s, size_t max) {
  const size_t n = strlen(s);
  if (n == 0 || n > max) return 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = (uint8_t)s[i];
    if (c < 0x20 || c == 0x7f) return 0;
  }
  return 1;
}

int sdb_ota_valid_project(const char* s) {
  const size_t n = strlen(s);
  if (n == 0 || n > SDB_OTA_MAX_NAME || s[0] == '-' || s[0] == '_') return 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0;
  }
  return 1;
}

static int get_project(sdb_ota_reader* r, char out[SDB_OTA_MAX_NAME + 1]) {
  return get_text(r, out, SDB_OTA_MAX_NAME) && sdb_ota_valid_project(out);
}

/* The tag, then format_version, which must be 1. */
static sdb_ota_result open_body(sdb_ota_reader* r, const uint8_t* tag, size_t tag_len) {
  if (r->n < tag_len || memcmp(r->p, tag, tag_len) != 0) return SDB_OTA_MALFORMED;
  r->p += tag_len;
  r->n -= tag_len;
  uint64_t format;
  if (!sdb_ota_get_varint(r, &format)) return SDB_OTA_MALFORMED;
  return format == 1 ? SDB_OTA_OK : SDB_OTA_UNSUPPORTED_FORMAT;
}

sdb_ota_result sdb_ota_open_signed(const uint8_t* data, size_t len, sdb_ota_signed* out) {
  sdb_ota_reader r = {data, len};
  uint64_t body_len, count;
  if (!sdb_ota_get_varint(&r, &body_len) || body_len == 0 || body_len > r.n) {
    return SDB_OTA_MALFORMED;
  }
  out->body = r.p;
  out->body_len = (size_t)body_len;
  r.p += body_len;
  r.n -= body_len;
  if (!sdb_ota_get_varint(&r, &count) || count > SDB_OTA_MAX_SIGNATURES) return SDB_OTA_MALFORMED;
  if (r.n != count * (SDB_OTA_KEY_ID_BYTES + SDB_OTA_SIG_BYTES)) return SDB_OTA_MALFORMED;
  out->signature_count = (uint32_t)count;
  for (uint32_t i = 0; i < out->signature_count; ++i) {
    out->signatures[i].key_id = r.p;
    out->signatures[i].sig = r.p + SDB_OTA_KEY_ID_BYTES;
    r.p += SDB_OTA_KEY_ID_BYTES + SDB_OTA_SIG_BYTES;
  }
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_check_root_fields(const sdb_ota_root* root) {
  if (!sdb_ota_valid_project(root->project) || root->version == 0 || root->key_count == 0 ||
      root->key_count > SDB_OTA_MAX_KEYS || root->threshold == 0 ||
      root->threshold > root->key_count || root->expires_unix_s <= root->created_unix_s ||
      (uint64_t)root->expires_unix_s - (uint64_t)root->created_unix_s >
          (uint64_t)SDB_OTA_MAX_ROOT_DAYS * 86400) {
    return SDB_OTA_MALFORMED;
  }
  for (uint32_t i = 0; i < root->key_count; ++i) {
    if (memcmp(root->keys[i], root->freshness_key, SDB_OTA_KEY_BYTES) == 0)
      return SDB_OTA_MALFORMED;
    for (uint32_t j = 0; j < i; ++j) {
      if (memcmp(root->keys[i], root->keys[j], SDB_OTA_KEY_BYTES) == 0) return SDB_OTA_MALFORMED;
    }
  }
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_decode_root(const uint8_t* body, size_t len, sdb_ota_root* out) {
  sdb_ota_reader r = {body, len};
  memset(out, 0, sizeof *out);
  const sdb_ota_result opened = open_body(&r, sdb_ota_root_tag, SDB_OTA_ROOT_TAG_LEN);
  if (opened != SDB_OTA_OK) return opened;
  uint64_t threshold, count;
  if (!get_project(&r, out->project) || !sdb_ota_get_varint(&r, &out->version) ||
      !sdb_ota_get_varint(&r, &threshold) || !sdb_ota_get_varint(&r, &count) ||
      count > SDB_OTA_MAX_KEYS || threshold > count) {
    return SDB_OTA_MALFORMED;
  }
  out->threshold = (uint32_t)threshold;
  out->key_count = (uint32_t)count;
  for (uint32_t i = 0; i < out->key_count; ++i) {
    if (!sdb_ota_get_raw(&r, out->keys[i], SDB_OTA_KEY_BYTES)) return SDB_OTA_MALFORMED;
  }
  if (!sdb_ota_get_raw(&r, out->freshness_key, SDB_OTA_KEY_BYTES) ||
      !sdb_ota_get_signed(&r, &out->created_unix_s) ||
      !sdb_ota_get_signed(&r, &out->expires_unix_s) || r.n != 0) {
    return SDB_OTA_MALFORMED;
  }
  return sdb_ota_check_root_fields(out);
}

sdb_ota_result sdb_ota_check_manifest_fields(const sdb_ota_manifest* m) {
  if (!sdb_ota_valid_project(m->project) || m->root_version == 0 || m->hardware_model[0] == '\0' ||
      m->version[0] == '\0' || m->image_length == 0 || m->expires_unix_s <= m->created_unix_s ||
      (uint64_t)m->expires_unix_s - (uint64_t)m->created_unix_s >
          (uint64_t)SDB_OTA_MAX_MANIFEST_DAYS * 86400 ||
      m->notes_len > SDB_OTA_MAX_NOTES) {
    return SDB_OTA_MALFORMED;
  }
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_decode_manifest(const uint8_t* body, size_t len, sdb_ota_manifest* out) {
  sdb_ota_reader r = {body, len};
  memset(out, 0, sizeof *out);
  const sdb_ota_result opened = open_body(&r, sdb_ota_manifest_tag, SDB_OTA_MANIFEST_TAG_LEN);
  if (opened != SDB_OTA_OK) return opened;
  uint64_t notes_len;
  if (!get_project(&r, out->project) || !sdb_ota_get_varint(&r, &out->root_version) ||
      !get_text(&r, out->hardware_model, SDB_OTA_MAX_NAME) ||
      !get_text(&r, out->version, SDB_OTA_MAX_NAME) ||
      !sdb_ota_get_varint(&r, &out->security_version) ||
      !sdb_ota_get_varint(&r, &out->image_length) ||
      !sdb_ota_get_raw(&r, out->image_sha256, SDB_OTA_HASH_BYTES) ||
      !sdb_ota_get_signed(&r, &out->created_unix_s) ||
      !sdb_ota_get_signed(&r, &out->expires_unix_s) || !sdb_ota_get_varint(&r, &notes_len) ||
      notes_len > SDB_OTA_MAX_NOTES || notes_len != r.n) {
    return SDB_OTA_MALFORMED;
  }
  out->notes = notes_len ? r.p : NULL;
  out->notes_len = (size_t)notes_len;
  return sdb_ota_check_manifest_fields(out);
}

sdb_ota_result sdb_ota_check_freshness_fields(const sdb_ota_freshness* f) {
  if (!sdb_ota_valid_project(f->project) || f->device[0] == '\0' || f->valid_for_s == 0 ||
      f->valid_for_s > SDB_OTA_MAX_FRESHNESS_S || (f->has_offer != 0 && f->has_offer != 1)) {
    return SDB_OTA_MALFORMED;
  }
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_decode_freshness(const uint8_t* body, size_t len, sdb_ota_freshness* out) {
  sdb_ota_reader r = {body, len};
  memset(out, 0, sizeof *out);
  const sdb_ota_result opened = open_body(&r, sdb_ota_freshness_tag, SDB_OTA_FRESHNESS_TAG_LEN);
  if (opened != SDB_OTA_OK) return opened;
  uint64_t valid_for, has_offer;
  if (!get_project(&r, out->project) || !get_text(&r, out->device, SDB_OTA_MAX_DEVICE) ||
      !sdb_ota_get_raw(&r, out->nonce, SDB_OTA_NONCE_BYTES) ||
      !sdb_ota_get_signed(&r, &out->server_unix_s) || !sdb_ota_get_varint(&r, &valid_for) ||
      valid_for > SDB_OTA_MAX_FRESHNESS_S || !sdb_ota_get_varint(&r, &has_offer) || has_offer > 1) {
    return SDB_OTA_MALFORMED;
  }
  out->valid_for_s = (uint32_t)valid_for;
  out->has_offer = (int)has_offer;
  if (out->has_offer && !sdb_ota_get_raw(&r, out->manifest_sha256, SDB_OTA_HASH_BYTES)) {
    return SDB_OTA_MALFORMED;
  }
  if (r.n != 0) return SDB_OTA_MALFORMED;
  return sdb_ota_check_freshness_fields(out);
}
