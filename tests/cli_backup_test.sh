#!/usr/bin/env bash
# End-to-end test of `sensordb backup`: create, list, verify, restore (by id and by time),
# prune, JSON output, and the refusals (non-empty target, wrong key, damaged backup).
# Usage: cli_backup_test.sh /path/to/sensordb
set -euo pipefail

BIN=${1:?usage: cli_backup_test.sh /path/to/sensordb}
source "$(dirname "$0")/cli_test_lib.sh"
BK=$WORK/backups

count() { "$BIN" --data-dir "$1" --key-file "$KEY" query -p farm --agg count -f csv | tail -n1 | awk -F, '{print $NF}'; }

sdb project create farm >/dev/null
for i in $(seq 0 199); do echo "weather,device=st1 temp=$i.5 $((1767225600 + i))000000000"; done \
  | sdb import -p farm --format lp - >/dev/null
first=$(sdb backup create --backup-dir "$BK" --label "before change" --json)
expect_eq "create json id" 1 "$(echo "$first" | json_get 'd["id"]')"
expect_eq "create json label" "before change" "$(echo "$first" | json_get 'd["label"]')"
# Just after the first backup's own creation time: --before must pick it, not the second one.
cutoff=$(($(echo "$first" | json_get 'd["created_unix_ns"]') + 1))
for i in $(seq 200 299); do echo "weather,device=st1 temp=$i.5 $((1767225600 + i))000000000"; done \
  | sdb import -p farm --format lp - >/dev/null
sdb backup create --backup-dir "$BK" >/dev/null

list=$(sdb backup list --backup-dir "$BK" --json)
expect_eq "list count" 2 "$(echo "$list" | json_get 'len(d)')"
expect_eq "list ok" "True True" "$(echo "$list" | json_get '" ".join(str(b["ok"]) for b in d)')"
# New and shared bytes add up to the backup's size. That the second backup shares files with
# the first is not asserted here: the import between them leaves four level-0 files per column
# family, RocksDB may compact them between the backup's flush and its listing of live files,
# and then every file is new (a CI run saw it under load). backup_test.cc asserts the sharing
# where no compaction can run in between.
expect_eq "sizes add up" "True True" \
  "$(echo "$list" | json_get '" ".join(str(b["new_bytes"] + b["shared_bytes"] == b["size_bytes"]) for b in d)')"
sdb backup list --backup-dir "$BK" | grep -q "before change" || fail "table list lacks the label"

v=$(sdb backup verify --backup-dir "$BK" --all --json)
expect_eq "verify all" "True True" \
  "$(echo "$v" | python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["ok"]) for l in sys.stdin))')"

sdb backup restore --backup-dir "$BK" --id 1 --target "$WORK/r1" >/dev/null
expect_eq "restore by id" 200 "$(count "$WORK/r1")"
sdb backup restore --backup-dir "$BK" --before "$cutoff" --target "$WORK/r2" >/dev/null
expect_eq "restore by time" 200 "$(count "$WORK/r2")"
sdb backup restore --backup-dir "$BK" --target "$WORK/r3" >/dev/null
expect_eq "restore latest" 300 "$(count "$WORK/r3")"

# --- refusals ------------------------------------------------------------------------------
expect_exit "restore over the live db" 1 sdb backup restore --backup-dir "$BK" --id 1
[[ $ERR == *"not empty"* ]] || fail "non-empty target message: $ERR"
expect_eq "live db untouched" 300 "$(count "$DB")"
"$BIN" keygen "$WORK/other.key" >/dev/null
expect_exit "wrong key" 1 "$BIN" --data-dir "$DB" --key-file "$WORK/other.key" \
  backup restore --backup-dir "$BK" --id 1 --target "$WORK/r4"
[[ $ERR == *"wrong master key"* ]] || fail "wrong key message: $ERR"
[[ ! -e $WORK/r4 ]] || fail "a refused restore left $WORK/r4 behind"
expect_exit "unknown id" 1 sdb backup restore --backup-dir "$BK" --id 42 --target "$WORK/r5"
expect_exit "missing backup dir" 1 sdb backup list --backup-dir "$WORK/nope"
expect_exit "missing parent" 1 sdb backup create --backup-dir "$WORK/no/such/dir"
expect_exit "no backup dir" 2 sdb backup list

# Without --id, restore takes the newest backup that restores: a damaged newer one is named,
# with why, and skipped (issue 20). Damage a file only backup 2 has.
priv=$(find "$BK/private/2" -type f -name 'MANIFEST*' | head -n1)
[[ -n $priv ]] || fail "no private MANIFEST of backup 2 in $(find "$BK" | head -20)"
cp "$priv" "$WORK/manifest.good"
printf 'garbage' | dd of="$priv" bs=1 seek=20 conv=notrunc status=none
sdb backup restore --backup-dir "$BK" \
  --target "$WORK/r6" >"$WORK/r6.out" 2>"$WORK/r6.err" || fail "restore skipping a damaged backup: $(cat "$WORK/r6.err")"
grep -q "^backup 1 restored" "$WORK/r6.out" || fail "not backup 1 restored: $(cat "$WORK/r6.out")"
grep -q "backup 2 skipped: .*MANIFEST" "$WORK/r6.err" || fail "the skip of backup 2 not named: $(cat "$WORK/r6.err")"
expect_eq "restore of the newest good backup" 200 "$(count "$WORK/r6")"
expect_exit "restore of the damaged one by id" 1 sdb backup restore --backup-dir "$BK" --id 2 --target "$WORK/r7"
[[ ! -e $WORK/r7 ]] || fail "a failed restore left $WORK/r7 behind"
cp "$WORK/manifest.good" "$priv"
# A backup damaged as listed (its metadata unreadable, so its time is unknown) is named too.
cp "$BK/meta/2" "$WORK/meta.good"
printf 'garbage\n' >"$BK/meta/2"
sdb backup restore --backup-dir "$BK" \
  --target "$WORK/r8" >"$WORK/r8.out" 2>"$WORK/r8.err" || fail "restore past a backup listed as damaged: $(cat "$WORK/r8.err")"
grep -q "^backup 1 restored" "$WORK/r8.out" || fail "not backup 1 restored: $(cat "$WORK/r8.out")"
grep -q "backup 2 skipped: .*meta/2" "$WORK/r8.err" || fail "the listed damage of backup 2 not named: $(cat "$WORK/r8.err")"
sdb backup verify --backup-dir "$BK" >"$WORK/v8.out" || fail "verify of the newest good backup"
grep -q "^backup 1: ok" "$WORK/v8.out" || fail "verify did not pick backup 1: $(cat "$WORK/v8.out")"
cp "$WORK/meta.good" "$BK/meta/2"

sst=$(find "$BK/shared_checksum" -name '*.sst' | head -n1)
printf 'garbage' | dd of="$sst" bs=1 seek=100 conv=notrunc status=none
expect_exit "verify damaged" 1 sdb backup verify --backup-dir "$BK" --all
grep -q FAILED "$WORK/out" || fail "verify of a damaged backup did not say FAILED"

# --- prune ---------------------------------------------------------------------------------
p=$(sdb backup prune --backup-dir "$BK" --keep-days 0 --dry-run --json)
expect_eq "dry run" "[1]" "$(echo "$p" | json_get 'd["deleted"]')"
expect_eq "dry run deleted nothing" 2 "$(sdb backup list --backup-dir "$BK" --json | json_get 'len(d)')"
sdb backup prune --backup-dir "$BK" --keep-daily 1 >/dev/null
expect_eq "prune" 1 "$(sdb backup list --backup-dir "$BK" --json | json_get 'len(d)')"

finish cli_backup_test
