/* Shared by the agent's sources: the byte reader, the domain-separation tags and the field checks
 * that both the decoders and the encoders apply. Not installed. */
#ifndef SENSORDB_OTA_INTERNAL_H_
#define SENSORDB_OTA_INTERNAL_H_

#include <stddef.h>
#include <stdint.h>

#include "sensordb/ota.h"

/* Each body starts with its tag, the trailing NUL included (protocol/firmware_format.md). */
#define SDB_OTA_MANIFEST_TAG_LEN 27
#define SDB_OTA_ROOT_TAG_LEN 23
#define SDB_OTA_FRESHNESS_TAG_LEN 28
extern const uint8_t sdb_ota_manifest_tag[SDB_OTA_MANIFEST_TAG_LEN];
extern const uint8_t sdb_ota_root_tag[SDB_OTA_ROOT_TAG_LEN];
extern const uint8_t sdb_ota_freshness_tag[SDB_OTA_FRESHNESS_TAG_LEN];

/* Input left to decode; every getter returns 0 on truncated or non-minimal input. */
typedef struct {
  const uint8_t* p;
  size_t n;
} sdb_ota_reader;

int sdb_ota_get_varint(sdb_ota_reader* r, uint64_t* v);
int sdb_ota_get_signed(sdb_ota_reader* r, int64_t* v); /* zigzag */
int sdb_ota_get_raw(sdb_ota_reader* r, uint8_t* out, size_t n);

/* What text(max) holds: 1..max bytes, none a control character (0x00-0x1f, 0x7f). */
int sdb_ota_valid_text(const char* s, size_t max);

/* 1..64 characters of [a-z0-9_-], not starting with '-' or '_' (core/include/sensordb/names.h). */
int sdb_ota_valid_project(const char* s);

sdb_ota_result sdb_ota_check_root_fields(const sdb_ota_root* root);
sdb_ota_result sdb_ota_check_manifest_fields(const sdb_ota_manifest* m);
sdb_ota_result sdb_ota_check_freshness_fields(const sdb_ota_freshness* f);

#endif /* SENSORDB_OTA_INTERNAL_H_ */
