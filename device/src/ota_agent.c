/* The agent's decisions (docs/OTA.md): threshold signatures, trust-root rotation, freshness,
 * whether a manifest may install, the image hash, and the A/B slot state a bootloader acts on.
 * Each function that changes the store checks everything first and writes only at the end. */
#include <sodium.h>
#include <string.h>

#include "ota_internal.h"
#include "sensordb/ota.h"

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((sdb_ota_image*)0)->state),
               "sdb_ota_image.state too small for libsodium's SHA-256 state");

/* Bytes read from a slot per callback: the agent's largest stack buffer. */
#define SLOT_READ_BYTES 512

sdb_ota_result sdb_ota_init(void) { return sodium_init() < 0 ? SDB_OTA_NO_CRYPTO : SDB_OTA_OK; }

void sdb_ota_key_id(const uint8_t key[SDB_OTA_KEY_BYTES], uint8_t id[SDB_OTA_KEY_ID_BYTES]) {
  uint8_t h[32];
  crypto_generichash(h, sizeof h, key, SDB_OTA_KEY_BYTES, NULL, 0);
  memcpy(id, h, SDB_OTA_KEY_ID_BYTES);
}

/* Valid signatures over s->body by distinct keys of keys[0..n), at least k of them. A
 * signature whose id names no key is ignored; a key counts once however often it signed. */
static sdb_ota_result check_signers(const uint8_t (*keys)[SDB_OTA_KEY_BYTES], uint32_t n,
                                    uint32_t k, const sdb_ota_signed* s) {
  uint8_t ids[SDB_OTA_MAX_KEYS][SDB_OTA_KEY_ID_BYTES];
  for (uint32_t i = 0; i < n; ++i) sdb_ota_key_id(keys[i], ids[i]);
  uint32_t counted = 0; /* bit i: key i signed validly */
  uint32_t valid = 0;
  int failed = 0;
  for (uint32_t j = 0; j < s->signature_count && valid < k; ++j) {
    for (uint32_t i = 0; i < n; ++i) {
      if ((counted >> i) & 1u) continue;
      if (memcmp(ids[i], s->signatures[j].key_id, SDB_OTA_KEY_ID_BYTES) != 0) continue;
      if (crypto_sign_verify_detached(s->signatures[j].sig, s->body, s->body_len, keys[i]) == 0) {
        counted |= 1u << i;
        ++valid;
        break;
      }
      failed = 1;
    }
  }
  if (valid >= k) return SDB_OTA_OK;
  return failed ? SDB_OTA_BAD_SIGNATURE : SDB_OTA_BELOW_THRESHOLD;
}

sdb_ota_result sdb_ota_check_threshold(const sdb_ota_root* root, const sdb_ota_signed* s) {
  /* Both may be built by a caller rather than decoded: bounds before any array is read. */
  if (root->key_count == 0 || root->key_count > SDB_OTA_MAX_KEYS || root->threshold == 0 ||
      root->threshold > root->key_count || s->signature_count > SDB_OTA_MAX_SIGNATURES) {
    return SDB_OTA_MALFORMED;
  }
  return check_signers(root->keys, root->key_count, root->threshold, s);
}

static int copy_text(char* out, size_t max, const char* s) {
  const size_t n = strlen(s);
  if (n == 0 || n > max) return 0;
  memcpy(out, s, n + 1);
  return 1;
}

/* SHA-256 of the first `length` bytes of `slot`, read through `read`. */
static sdb_ota_result hash_slot(sdb_ota_read_fn read, void* ctx, uint32_t slot, uint64_t length,
                                uint8_t out[SDB_OTA_HASH_BYTES]) {
  crypto_hash_sha256_state st;
  uint8_t buf[SLOT_READ_BYTES];
  crypto_hash_sha256_init(&st);
  for (uint64_t off = 0; off < length;) {
    const size_t n = length - off < sizeof buf ? (size_t)(length - off) : sizeof buf;
    if (read(ctx, slot, off, buf, n) != 0) return SDB_OTA_IO;
    crypto_hash_sha256_update(&st, buf, n);
    off += n;
  }
  crypto_hash_sha256_final(&st, out);
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_verify_slot(sdb_ota_read_fn read, void* ctx, uint32_t slot, uint64_t length,
                                   const uint8_t sha256[SDB_OTA_HASH_BYTES]) {
  uint8_t got[SDB_OTA_HASH_BYTES];
  const sdb_ota_result r = hash_slot(read, ctx, slot, length, got);
  if (r != SDB_OTA_OK) return r;
  return sodium_memcmp(got, sha256, SDB_OTA_HASH_BYTES) == 0 ? SDB_OTA_OK : SDB_OTA_HASH_MISMATCH;
}

sdb_ota_result sdb_ota_provision(sdb_ota_store* store, const char* project, const char* device,
                                 const char* hardware_model, const uint8_t* root_signed,
                                 size_t root_len, int64_t now_unix_s, uint32_t active_slot,
                                 uint64_t image_length, uint64_t security_version,
                                 sdb_ota_read_fn read, void* ctx) {
  sdb_ota_signed s;
  sdb_ota_root root;
  uint8_t sha[SDB_OTA_HASH_BYTES];
  if (active_slot > 1 || image_length == 0 || !sdb_ota_valid_project(project) ||
      !sdb_ota_valid_text(device, SDB_OTA_MAX_DEVICE) ||
      !sdb_ota_valid_text(hardware_model, SDB_OTA_MAX_NAME)) {
    return SDB_OTA_MALFORMED;
  }
  sdb_ota_result r = sdb_ota_open_signed(root_signed, root_len, &s);
  if (r == SDB_OTA_OK) r = sdb_ota_decode_root(s.body, s.body_len, &root);
  if (r != SDB_OTA_OK) return r;
  if (strcmp(root.project, project) != 0) return SDB_OTA_WRONG_PROJECT;
  r = sdb_ota_check_threshold(&root, &s);
  if (r != SDB_OTA_OK) return r;
  if (root.expires_unix_s <= now_unix_s) return SDB_OTA_EXPIRED;
  /* The factory image is trusted as provisioned: its digest is what the bootloader checks. */
  r = hash_slot(read, ctx, active_slot, image_length, sha);
  if (r != SDB_OTA_OK) return r;
  memset(store, 0, sizeof *store);
  copy_text(store->project, SDB_OTA_MAX_NAME, project);
  copy_text(store->device, SDB_OTA_MAX_DEVICE, device);
  copy_text(store->hardware_model, SDB_OTA_MAX_NAME, hardware_model);
  store->root = root;
  store->security_version = security_version;
  store->time_floor_unix_s = now_unix_s;
  store->last_fresh_unix_s = now_unix_s;
  store->active_slot = active_slot;
  store->trial = SDB_OTA_TRIAL_NONE;
  store->slots[active_slot].length = image_length;
  memcpy(store->slots[active_slot].sha256, sha, sizeof sha);
  store->slots[active_slot].security_version = security_version;
  return SDB_OTA_OK;
}

void sdb_ota_observe_time(sdb_ota_store* store, int64_t unix_s) {
  if (unix_s > store->time_floor_unix_s) store->time_floor_unix_s = unix_s;
}

sdb_ota_result sdb_ota_accept_root(sdb_ota_store* store, const uint8_t* root_signed, size_t len) {
  sdb_ota_signed s;
  sdb_ota_root next;
  sdb_ota_result r = sdb_ota_open_signed(root_signed, len, &s);
  if (r == SDB_OTA_OK) r = sdb_ota_decode_root(s.body, s.body_len, &next);
  if (r != SDB_OTA_OK) return r;
  if (strcmp(next.project, store->project) != 0) return SDB_OTA_WRONG_PROJECT;
  if (store->root.version == UINT64_MAX || next.version != store->root.version + 1) {
    return SDB_OTA_WRONG_ROOT;
  }
  /* The old threshold authorises the change; the new one shows the new keys are held. */
  r = sdb_ota_check_threshold(&store->root, &s);
  if (r == SDB_OTA_OK) r = sdb_ota_check_threshold(&next, &s);
  if (r != SDB_OTA_OK) return r;
  /* No expiry check (as TUF walks a root chain): an intermediate root that expired while the
   * device slept must not strand it. The price: whoever holds a threshold of keys that a later
   * rotation retired can sign a successor for devices still before that rotation. What the
   * old root's online key offered or was asked ends with it. */
  store->root = next;
  store->has_offer = 0;
  memset(store->offered_sha256, 0, SDB_OTA_HASH_BYTES);
  store->request_pending = 0;
  sodium_memzero(store->request_nonce, SDB_OTA_NONCE_BYTES);
  return SDB_OTA_OK;
}

void sdb_ota_begin_request(sdb_ota_store* store, uint8_t nonce[SDB_OTA_NONCE_BYTES]) {
  randombytes_buf(store->request_nonce, SDB_OTA_NONCE_BYTES);
  store->request_pending = 1;
  store->has_offer = 0;
  memset(store->offered_sha256, 0, SDB_OTA_HASH_BYTES);
  memcpy(nonce, store->request_nonce, SDB_OTA_NONCE_BYTES);
}

sdb_ota_result sdb_ota_accept_freshness(sdb_ota_store* store, const uint8_t* stmt_signed,
                                        size_t len, sdb_ota_freshness* out) {
  sdb_ota_signed s;
  sdb_ota_freshness f;
  sdb_ota_result r = sdb_ota_open_signed(stmt_signed, len, &s);
  if (r == SDB_OTA_OK) r = sdb_ota_decode_freshness(s.body, s.body_len, &f);
  if (r == SDB_OTA_OK) {
    r = check_signers((const uint8_t(*)[SDB_OTA_KEY_BYTES])store->root.freshness_key, 1, 1, &s);
  }
  if (r != SDB_OTA_OK) return r;
  if (strcmp(f.project, store->project) != 0) return SDB_OTA_WRONG_PROJECT;
  if (strcmp(f.device, store->device) != 0) return SDB_OTA_WRONG_DEVICE;
  if (!store->request_pending ||
      sodium_memcmp(f.nonce, store->request_nonce, SDB_OTA_NONCE_BYTES) != 0) {
    return SDB_OTA_STALE_NONCE;
  }
  /* Older than the time the device already trusts, by more than its validity (in unsigned
   * arithmetic: the difference of two int64 always fits); or dated at or past the root's
   * expiry, which would let the online key freeze every later update. */
  if ((f.server_unix_s < store->time_floor_unix_s &&
       (uint64_t)store->time_floor_unix_s - (uint64_t)f.server_unix_s >= f.valid_for_s) ||
      f.server_unix_s >= store->root.expires_unix_s) {
    return SDB_OTA_EXPIRED;
  }
  sdb_ota_observe_time(store, f.server_unix_s);
  if (f.server_unix_s > store->last_fresh_unix_s) store->last_fresh_unix_s = f.server_unix_s;
  store->request_pending = 0;
  sodium_memzero(store->request_nonce, SDB_OTA_NONCE_BYTES);
  store->has_offer = (uint32_t)f.has_offer;
  memcpy(store->offered_sha256, f.manifest_sha256, SDB_OTA_HASH_BYTES);
  if (store->trial == SDB_OTA_TRIAL_INSTALLED &&
      (!f.has_offer ||
       memcmp(f.manifest_sha256, store->trial_manifest_sha256, SDB_OTA_HASH_BYTES) != 0)) {
    store->trial = SDB_OTA_TRIAL_NONE; /* withdrawn before it was tried */
  }
  if (out) *out = f;
  return SDB_OTA_OK;
}

int sdb_ota_is_stale(const sdb_ota_store* store, int64_t stale_after_s) {
  if (store->time_floor_unix_s <= store->last_fresh_unix_s) return 0;
  const uint64_t since = (uint64_t)store->time_floor_unix_s - (uint64_t)store->last_fresh_unix_s;
  return stale_after_s <= 0 || since >= (uint64_t)stale_after_s;
}

sdb_ota_result sdb_ota_check_manifest(const sdb_ota_store* store, const uint8_t* manifest_signed,
                                      size_t len, const uint8_t* offered, sdb_ota_manifest* out) {
  sdb_ota_signed s;
  sdb_ota_manifest local;
  sdb_ota_manifest* m = out ? out : &local;
  sdb_ota_result r = sdb_ota_open_signed(manifest_signed, len, &s);
  if (r == SDB_OTA_OK) r = sdb_ota_decode_manifest(s.body, s.body_len, m);
  if (r != SDB_OTA_OK) return r;
  if (strcmp(m->project, store->project) != 0) return SDB_OTA_WRONG_PROJECT;
  if (m->root_version != store->root.version) return SDB_OTA_WRONG_ROOT;
  r = sdb_ota_check_threshold(&store->root, &s);
  if (r != SDB_OTA_OK) return r;
  if (strcmp(m->hardware_model, store->hardware_model) != 0) return SDB_OTA_WRONG_MODEL;
  if (m->security_version < store->security_version) return SDB_OTA_ROLLBACK;
  if (m->expires_unix_s <= store->time_floor_unix_s ||
      store->root.expires_unix_s <= store->time_floor_unix_s) {
    return SDB_OTA_EXPIRED;
  }
  if (offered) {
    uint8_t h[SDB_OTA_HASH_BYTES];
    crypto_hash_sha256(h, s.body, s.body_len);
    if (sodium_memcmp(h, offered, SDB_OTA_HASH_BYTES) != 0) return SDB_OTA_NOT_OFFERED;
  }
  return SDB_OTA_OK;
}

void sdb_ota_image_begin(sdb_ota_image* img, const sdb_ota_manifest* m) {
  memset(img, 0, sizeof *img);
  crypto_hash_sha256_init((crypto_hash_sha256_state*)(void*)img->state);
  img->expected_length = m->image_length;
  memcpy(img->expected_sha256, m->image_sha256, SDB_OTA_HASH_BYTES);
}

sdb_ota_result sdb_ota_image_update(sdb_ota_image* img, const uint8_t* data, size_t len) {
  if (len > img->expected_length - img->written) return SDB_OTA_LENGTH_MISMATCH;
  crypto_hash_sha256_update((crypto_hash_sha256_state*)(void*)img->state, data, len);
  img->written += len;
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_image_finish(sdb_ota_image* img) {
  uint8_t got[SDB_OTA_HASH_BYTES];
  if (img->written != img->expected_length) return SDB_OTA_LENGTH_MISMATCH;
  crypto_hash_sha256_final((crypto_hash_sha256_state*)(void*)img->state, got);
  return sodium_memcmp(got, img->expected_sha256, SDB_OTA_HASH_BYTES) == 0 ? SDB_OTA_OK
                                                                           : SDB_OTA_HASH_MISMATCH;
}

sdb_ota_result sdb_ota_install(sdb_ota_store* store, const uint8_t* manifest_signed, size_t len,
                               sdb_ota_read_fn read, void* ctx) {
  sdb_ota_manifest m;
  if (store->active_slot > 1 || store->trial == SDB_OTA_TRIAL_BOOTING) return SDB_OTA_BAD_STATE;
  if (!store->has_offer) return SDB_OTA_NOT_OFFERED;
  sdb_ota_result r = sdb_ota_check_manifest(store, manifest_signed, len, store->offered_sha256, &m);
  if (r != SDB_OTA_OK) return r;
  const uint32_t inactive = 1 - store->active_slot;
  r = sdb_ota_verify_slot(read, ctx, inactive, m.image_length, m.image_sha256);
  if (r != SDB_OTA_OK) return r;
  store->slots[inactive].length = m.image_length;
  memcpy(store->slots[inactive].sha256, m.image_sha256, SDB_OTA_HASH_BYTES);
  store->slots[inactive].security_version = m.security_version;
  store->trial = SDB_OTA_TRIAL_INSTALLED;
  store->rolled_back = 0;
  memcpy(store->trial_manifest_sha256, store->offered_sha256, SDB_OTA_HASH_BYTES);
  store->has_offer = 0;
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_cancel_install(sdb_ota_store* store) {
  if (store->trial == SDB_OTA_TRIAL_BOOTING) return SDB_OTA_BAD_STATE;
  store->trial = SDB_OTA_TRIAL_NONE;
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_boot(sdb_ota_store* store, sdb_ota_read_fn read, void* ctx, uint32_t* slot) {
  if (store->active_slot > 1) return SDB_OTA_BAD_STATE;
  const uint32_t active = store->active_slot;
  const uint32_t inactive = 1 - active;
  if (store->trial == SDB_OTA_TRIAL_INSTALLED) {
    const sdb_ota_slot_record* t = &store->slots[inactive];
    if (sdb_ota_verify_slot(read, ctx, inactive, t->length, t->sha256) == SDB_OTA_OK) {
      store->trial = SDB_OTA_TRIAL_BOOTING;
      *slot = inactive;
      return SDB_OTA_OK;
    }
    store->trial = SDB_OTA_TRIAL_NONE; /* the slot changed since it was verified */
    store->rolled_back = 1;
  } else if (store->trial == SDB_OTA_TRIAL_BOOTING) {
    store->trial = SDB_OTA_TRIAL_NONE; /* reset before the trial was confirmed */
    store->rolled_back = 1;
  }
  const sdb_ota_slot_record* a = &store->slots[active];
  const sdb_ota_result r = sdb_ota_verify_slot(read, ctx, active, a->length, a->sha256);
  if (r != SDB_OTA_OK) return r;
  *slot = active;
  return SDB_OTA_OK;
}

sdb_ota_result sdb_ota_confirm(sdb_ota_store* store) {
  if (store->active_slot > 1 || store->trial != SDB_OTA_TRIAL_BOOTING) return SDB_OTA_BAD_STATE;
  store->active_slot = 1 - store->active_slot;
  const uint64_t sv = store->slots[store->active_slot].security_version;
  if (sv > store->security_version) store->security_version = sv;
  store->trial = SDB_OTA_TRIAL_NONE;
  return SDB_OTA_OK;
}
