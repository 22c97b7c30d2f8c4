/* The firmware update agent of a sensordb datalogger (docs/OTA.md): it decides whether an update
 * may install and which slot boots, from metadata that k of a project's n offline release keys
 * signed. A C API over libsodium only; no heap, no threads, no I/O of its own (the integrator
 * reads slots through a callback and persists `sdb_ota_store`). The wire and file encodings are
 * protocol/firmware_format.md.
 *
 * Every function is re-entrant; a store must not be used by two threads at once. Decoded
 * structures hold copies, except `sdb_ota_manifest.notes`, which points into the input. */
#ifndef SENSORDB_OTA_H_
#define SENSORDB_OTA_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SDB_OTA_MAX_KEYS 16       /* release keys in a root (n) */
#define SDB_OTA_MAX_SIGNATURES 16 /* signatures carried with one body */
#define SDB_OTA_MAX_NAME 64       /* project, hardware model, version (bytes) */
#define SDB_OTA_MAX_DEVICE 255    /* device name (bytes) */
#define SDB_OTA_MAX_NOTES 1024    /* manifest notes (bytes) */
#define SDB_OTA_KEY_BYTES 32      /* Ed25519 public key */
#define SDB_OTA_SIG_BYTES 64      /* Ed25519 signature */
#define SDB_OTA_KEY_ID_BYTES 8    /* first bytes of BLAKE2b-256 of a public key */
#define SDB_OTA_HASH_BYTES 32     /* SHA-256 */
#define SDB_OTA_NONCE_BYTES 16
#define SDB_OTA_MAX_MANIFEST_DAYS 400 /* expires - created, manifests */
#define SDB_OTA_MAX_ROOT_DAYS 3660    /* expires - created, roots */
#define SDB_OTA_MAX_FRESHNESS_S 3600  /* valid_for of a freshness statement */

/* Every outcome has a name (sdb_ota_result_name) that a device reports as its `failed` reason. */
typedef enum {
  SDB_OTA_OK = 0,
  SDB_OTA_MALFORMED,          /* the bytes do not decode, or a field is out of its bounds */
  SDB_OTA_UNSUPPORTED_FORMAT, /* a format_version this agent does not know */
  SDB_OTA_BAD_SIGNATURE,      /* too few valid signatures, and one by a trusted key failed */
  SDB_OTA_BELOW_THRESHOLD,    /* fewer valid signatures of distinct trusted keys than k */
  SDB_OTA_WRONG_PROJECT,
  SDB_OTA_WRONG_DEVICE,
  SDB_OTA_WRONG_MODEL,
  SDB_OTA_WRONG_ROOT,  /* a manifest of another root version; a root not the next one */
  SDB_OTA_ROLLBACK,    /* security version below the one the device runs */
  SDB_OTA_EXPIRED,     /* by the device's time floor */
  SDB_OTA_STALE_NONCE, /* a freshness statement not answering this request */
  SDB_OTA_NOT_OFFERED, /* a manifest other than the one the statement names */
  SDB_OTA_LENGTH_MISMATCH,
  SDB_OTA_HASH_MISMATCH,
  SDB_OTA_BAD_STATE, /* e.g. confirm without a trial, install into the running slot */
  SDB_OTA_IO,        /* the slot reader failed */
  SDB_OTA_NO_CRYPTO  /* libsodium could not be initialised */
} sdb_ota_result;

const char* sdb_ota_result_name(sdb_ota_result r);

/* Initialises libsodium; call once before anything else. */
sdb_ota_result sdb_ota_init(void);

/* A trust root: who may sign this project's firmware. */
typedef struct {
  char project[SDB_OTA_MAX_NAME + 1];
  uint64_t version;   /* 1, 2, ... */
  uint32_t threshold; /* k: 1 <= k <= key_count */
  uint32_t key_count; /* n: 1 <= n <= SDB_OTA_MAX_KEYS, keys distinct */
  uint8_t keys[SDB_OTA_MAX_KEYS][SDB_OTA_KEY_BYTES];
  uint8_t freshness_key[SDB_OTA_KEY_BYTES]; /* the server's online key; not a release key */
  int64_t created_unix_s;
  int64_t expires_unix_s;
} sdb_ota_root;

/* One release of one image for one hardware model. */
typedef struct {
  char project[SDB_OTA_MAX_NAME + 1];
  uint64_t root_version;
  char hardware_model[SDB_OTA_MAX_NAME + 1];
  char version[SDB_OTA_MAX_NAME + 1]; /* for people; not used for ordering */
  uint64_t security_version;          /* anti-rollback counter */
  uint64_t image_length;
  uint8_t image_sha256[SDB_OTA_HASH_BYTES];
  int64_t created_unix_s;
  int64_t expires_unix_s;
  const uint8_t* notes; /* into the decoded input; may be NULL when empty */
  size_t notes_len;
} sdb_ota_manifest;

/* The server's answer to one request for an offer, signed by the root's freshness key. */
typedef struct {
  char project[SDB_OTA_MAX_NAME + 1];
  char device[SDB_OTA_MAX_DEVICE + 1];
  uint8_t nonce[SDB_OTA_NONCE_BYTES];
  int64_t server_unix_s;
  uint32_t valid_for_s;                        /* 1 .. SDB_OTA_MAX_FRESHNESS_S */
  int has_offer;                               /* 0: nothing to install */
  uint8_t manifest_sha256[SDB_OTA_HASH_BYTES]; /* of the offered manifest's body */
} sdb_ota_freshness;

/* A signed object as it travels: the exact body bytes and their signatures (pointers into the
 * input). Signatures are over the body; the body starts with its own domain-separation tag. */
typedef struct {
  const uint8_t* key_id; /* SDB_OTA_KEY_ID_BYTES */
  const uint8_t* sig;    /* SDB_OTA_SIG_BYTES */
} sdb_ota_signature;

typedef struct {
  const uint8_t* body;
  size_t body_len;
  uint32_t signature_count;
  sdb_ota_signature signatures[SDB_OTA_MAX_SIGNATURES];
} sdb_ota_signed;

sdb_ota_result sdb_ota_open_signed(const uint8_t* data, size_t len, sdb_ota_signed* out);
sdb_ota_result sdb_ota_decode_root(const uint8_t* body, size_t len, sdb_ota_root* out);
sdb_ota_result sdb_ota_decode_manifest(const uint8_t* body, size_t len, sdb_ota_manifest* out);
sdb_ota_result sdb_ota_decode_freshness(const uint8_t* body, size_t len, sdb_ota_freshness* out);

/* The key id of a public key. */
void sdb_ota_key_id(const uint8_t key[SDB_OTA_KEY_BYTES], uint8_t id[SDB_OTA_KEY_ID_BYTES]);

/* OK when at least root->threshold distinct keys of `root` signed `s->body` validly; signatures
 * by other keys are ignored. BAD_SIGNATURE when short and a trusted key's signature failed. */
sdb_ota_result sdb_ota_check_threshold(const sdb_ota_root* root, const sdb_ota_signed* s);

/* What a device keeps, persisted by the integrator after every call that changes it (flash
 * pages with a counter and a CRC on a logger, a file in the simulator). The agent changes it only
 * after everything it records has been verified. */
enum { SDB_OTA_TRIAL_NONE = 0, SDB_OTA_TRIAL_INSTALLED = 1, SDB_OTA_TRIAL_BOOTING = 2 };

typedef struct {
  uint64_t length;
  uint8_t sha256[SDB_OTA_HASH_BYTES];
  uint64_t security_version;
} sdb_ota_slot_record;

typedef struct {
  char project[SDB_OTA_MAX_NAME + 1]; /* from the device's certificate */
  char device[SDB_OTA_MAX_DEVICE + 1];
  char hardware_model[SDB_OTA_MAX_NAME + 1];
  sdb_ota_root root;            /* the current trust root */
  uint64_t security_version;    /* of the confirmed firmware */
  int64_t time_floor_unix_s;    /* the latest trusted time seen; never goes back */
  int64_t last_fresh_unix_s;    /* server time of the last valid freshness statement */
  uint32_t active_slot;         /* 0 or 1: the confirmed firmware */
  uint32_t trial;               /* SDB_OTA_TRIAL_* of the other slot */
  uint32_t rolled_back;         /* 1 after a trial was abandoned, until the next install */
  sdb_ota_slot_record slots[2]; /* what each slot was verified to hold */
  uint32_t request_pending;     /* 1 while a request for an offer awaits its answer */
  uint8_t request_nonce[SDB_OTA_NONCE_BYTES]; /* that request's nonce, drawn by the agent */
  uint32_t has_offer;                         /* 1: the last statement offered the manifest below */
  uint8_t offered_sha256[SDB_OTA_HASH_BYTES]; /* SHA-256 of the offered manifest's body */
  uint8_t trial_manifest_sha256[SDB_OTA_HASH_BYTES]; /* of the manifest installed, to be tried */
} sdb_ota_store;

/* Reads `len` bytes of slot `slot` at `offset` into `buf`; returns 0 on success. */
typedef int (*sdb_ota_read_fn)(void* ctx, uint32_t slot, uint64_t offset, uint8_t* buf, size_t len);

/* At the factory: the identity, root version 1 (or any version, signed by a threshold of its own
 * keys), the time, and the image in `active_slot` with its security version (hashed through
 * `read`). */
sdb_ota_result sdb_ota_provision(sdb_ota_store* store, const char* project, const char* device,
                                 const char* hardware_model, const uint8_t* root_signed,
                                 size_t root_len, int64_t now_unix_s, uint32_t active_slot,
                                 uint64_t image_length, uint64_t security_version,
                                 sdb_ota_read_fn read, void* ctx);

/* Raises the time floor from a clock the integrator trusts (never lowers it). */
void sdb_ota_observe_time(sdb_ota_store* store, int64_t unix_s);

/* The next root: version current + 1, same project, signed by a threshold of the current root's
 * keys and by a threshold of its own. Its expiry is not checked here (a device that slept
 * through an intermediate root's validity must still walk the chain); a manifest is refused
 * while the root the device ends on has expired. */
sdb_ota_result sdb_ota_accept_root(sdb_ota_store* store, const uint8_t* root_signed, size_t len);

/* Starts a request for an offer: draws a fresh nonce (into the store and `nonce`), which the
 * device sends to the server. A new request replaces an unanswered one and withdraws the last
 * answer's offer: only the answer to the newest request can offer anything. */
void sdb_ota_begin_request(sdb_ota_store* store, uint8_t nonce[SDB_OTA_NONCE_BYTES]);

/* The answer to the pending request: signed by the root's freshness key, for this project and
 * device, with the request's nonce, not older than the time floor by more than its validity, and
 * dated before the root expires (so that the online key cannot push the floor past the root and
 * freeze updates). Raises the time floor to its server time, ends the request and records the
 * offer (or that there is none); an install not tried yet of another manifest is forgotten (the
 * server withdrew it). `out` (may be NULL) receives the statement. Accept newer roots first:
 * the statement is checked against the root the device holds. */
sdb_ota_result sdb_ota_accept_freshness(sdb_ota_store* store, const uint8_t* stmt_signed,
                                        size_t len, sdb_ota_freshness* out);

/* 1 when the device has had no valid freshness statement for `stale_after_s` seconds of its time
 * floor (docs/OTA.md "Freshness": the server or the network may be hiding a newer release); the
 * device reports `stale` in its telemetry and keeps its firmware. */
int sdb_ota_is_stale(const sdb_ota_store* store, int64_t stale_after_s);

/* Whether a manifest may install on this device now: threshold of the current root, project,
 * model, root version, security version, its expiry and the root's; with `offered` (the hash from
 * an accepted freshness statement) also that it is the offered one. Changes nothing. */
sdb_ota_result sdb_ota_check_manifest(const sdb_ota_store* store, const uint8_t* manifest_signed,
                                      size_t len, const uint8_t* offered, sdb_ota_manifest* out);

/* Hashes `length` bytes of `slot` through `read` and compares with `sha256`. */
sdb_ota_result sdb_ota_verify_slot(sdb_ota_read_fn read, void* ctx, uint32_t slot, uint64_t length,
                                   const uint8_t sha256[SDB_OTA_HASH_BYTES]);

/* Streaming check of an image as it is written (resumable: the state is plain memory). */
typedef struct {
  uint64_t state[32]; /* crypto_hash_sha256_state, opaque */
  uint64_t expected_length;
  uint64_t written;
  uint8_t expected_sha256[SDB_OTA_HASH_BYTES];
} sdb_ota_image;

void sdb_ota_image_begin(sdb_ota_image* img, const sdb_ota_manifest* m);
sdb_ota_result sdb_ota_image_update(sdb_ota_image* img, const uint8_t* data, size_t len);
sdb_ota_result sdb_ota_image_finish(sdb_ota_image* img);

/* The check before switching: check_manifest with the recorded offer (NOT_OFFERED without one,
 * or for another manifest), then the image's bytes of the inactive slot hashed; on success
 * records the slot as installed, to be tried at the next boot, and consumes the offer. */
sdb_ota_result sdb_ota_install(sdb_ota_store* store, const uint8_t* manifest_signed, size_t len,
                               sdb_ota_read_fn read, void* ctx);

/* Forgets an installed slot that has not been tried yet (before its bytes are overwritten by
 * another download). BAD_STATE while a trial runs: that slot is the running firmware. */
sdb_ota_result sdb_ota_cancel_install(sdb_ota_store* store);

/* The bootloader's decision at every reset, and its secure-boot check: an installed slot is
 * tried once; a reset while on trial abandons it (rolled back); the image's bytes of the slot
 * chosen are hashed and compared with what the agent verified; a trial slot that fails falls back
 * to the active one. `*slot` is the slot to boot; HASH_MISMATCH when even the active slot fails
 * (boot nothing).
 */
sdb_ota_result sdb_ota_boot(sdb_ota_store* store, sdb_ota_read_fn read, void* ctx, uint32_t* slot);

/* After the application reports healthy on trial: the trial slot becomes the active one and its
 * security version the device's (never lower than before). */
sdb_ota_result sdb_ota_confirm(sdb_ota_store* store);

/* Encoders for the tools that make metadata (not needed on a device): each writes at most `cap`
 * bytes to `out` and sets `*len`; MALFORMED when a field is out of bounds or `cap` too small. */
sdb_ota_result sdb_ota_encode_root(const sdb_ota_root* r, uint8_t* out, size_t cap, size_t* len);
sdb_ota_result sdb_ota_encode_manifest(const sdb_ota_manifest* m, uint8_t* out, size_t cap,
                                       size_t* len);
sdb_ota_result sdb_ota_encode_freshness(const sdb_ota_freshness* f, uint8_t* out, size_t cap,
                                        size_t* len);
sdb_ota_result sdb_ota_encode_signed(const sdb_ota_signed* s, uint8_t* out, size_t cap,
                                     size_t* len);

#ifdef __cplusplus
}
#endif

#endif /* SENSORDB_OTA_H_ */
