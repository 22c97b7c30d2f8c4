/* Encoders of the firmware metadata, for the tools that make it (the CLI, the server's freshness
 * statements, tests). A device needs none of this file. Each encoder refuses what its decoder
 * would refuse, so that nothing is signed that no device could read. */
#include <string.h>

#include "ota_internal.h"
#include "sensordb/ota.h"

typedef struct {
  uint8_t* p;
  size_t cap;
  size_t n;
  int ok;
} writer;

static void put_raw(writer* w, const void* data, size_t n) {
  if (!w->ok || w->cap - w->n < n) {
    w->ok = 0;
    return;
  }
  memcpy(w->p + w->n, data, n);
  w->n += n;
}

static void put_varint(writer* w, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  b[n++] = (uint8_t)v;
  put_raw(w, b, n);
}

static void put_signed(writer* w, int64_t v) {
  put_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* What get_text accepts: 1..max bytes, no control characters. */
static void put_text(writer* w, const char* s, size_t max) {
  const size_t n = strlen(s);
  if (!sdb_ota_valid_text(s, max)) w->ok = 0;
  put_varint(w, n);
  put_raw(w, s, n);
}

static sdb_ota_result finish(const writer* w, size_t* len) {
  if (!w->ok) return SDB_OTA_MALFORMED;
  *len = w->n;
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_encode_root(const sdb_ota_root* r, uint8_t* out, size_t cap, size_t* len) {
  if (sdb_ota_check_root_fields(r) != SDB_OTA_OK) return SDB_OTA_MALFORMED;
  writer w = {out, cap, 0, 1};
  put_raw(&w, sdb_ota_root_tag, SDB_OTA_ROOT_TAG_LEN);
  put_varint(&w, 1);
  put_text(&w, r->project, SDB_OTA_MAX_NAME);
  put_varint(&w, r->version);
  put_varint(&w, r->threshold);
  put_varint(&w, r->key_count);
  for (uint32_t i = 0; i < r->key_count; ++i) put_raw(&w, r->keys[i], SDB_OTA_KEY_BYTES);
  put_raw(&w, r->freshness_key, SDB_OTA_KEY_BYTES);
  put_signed(&w, r->created_unix_s);
  put_signed(&w, r->expires_unix_s);
  return finish(&w, len);
}

sdb_ota_result sdb_ota_encode_manifest(const sdb_ota_manifest* m, uint8_t* out, size_t cap,
                                       size_t* len) {
  if (sdb_ota_check_manifest_fields(m) != SDB_OTA_OK || (m->notes_len && !m->notes)) {
    return SDB_OTA_MALFORMED;
  }
  writer w = {out, cap, 0, 1};
  put_raw(&w, sdb_ota_manifest_tag, SDB_OTA_MANIFEST_TAG_LEN);
  put_varint(&w, 1);
  put_text(&w, m->project, SDB_OTA_MAX_NAME);
  put_varint(&w, m->root_version);
  put_text(&w, m->hardware_model, SDB_OTA_MAX_NAME);
  put_text(&w, m->version, SDB_OTA_MAX_NAME);
  put_varint(&w, m->security_version);
  put_varint(&w, m->image_length);
  put_raw(&w, m->image_sha256, SDB_OTA_HASH_BYTES);
  put_signed(&w, m->created_unix_s);
  put_signed(&w, m->expires_unix_s);
  put_varint(&w, m->notes_len);
  if (m->notes_len) put_raw(&w, m->notes, m->notes_len);
  return finish(&w, len);
}

sdb_ota_result sdb_ota_encode_freshness(const sdb_ota_freshness* f, uint8_t* out, size_t cap,
                                        size_t* len) {
  if (sdb_ota_check_freshness_fields(f) != SDB_OTA_OK) return SDB_OTA_MALFORMED;
  writer w = {out, cap, 0, 1};
  put_raw(&w, sdb_ota_freshness_tag, SDB_OTA_FRESHNESS_TAG_LEN);
  put_varint(&w, 1);
  put_text(&w, f->project, SDB_OTA_MAX_NAME);
  put_text(&w, f->device, SDB_OTA_MAX_DEVICE);
  put_raw(&w, f->nonce, SDB_OTA_NONCE_BYTES);
  put_signed(&w, f->server_unix_s);
  put_varint(&w, f->valid_for_s);
  put_varint(&w, (uint64_t)f->has_offer);
  if (f->has_offer) put_raw(&w, f->manifest_sha256, SDB_OTA_HASH_BYTES);
  return finish(&w, len);
}

sdb_ota_result sdb_ota_encode_signed(const sdb_ota_signed* s, uint8_t* out, size_t cap,
                                     size_t* len) {
  if (s->body_len == 0 || s->signature_count > SDB_OTA_MAX_SIGNATURES) return SDB_OTA_MALFORMED;
  writer w = {out, cap, 0, 1};
  put_varint(&w, s->body_len);
  put_raw(&w, s->body, s->body_len);
  put_varint(&w, s->signature_count);
  for (uint32_t i = 0; i < s->signature_count; ++i) {
    put_raw(&w, s->signatures[i].key_id, SDB_OTA_KEY_ID_BYTES);
    put_raw(&w, s->signatures[i].sig, SDB_OTA_SIG_BYTES);
  }
  return finish(&w, len);
}
