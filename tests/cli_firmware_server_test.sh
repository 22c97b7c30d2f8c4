#!/usr/bin/env bash
# Firmware administration with the real `sensordb` CLI against a real sensordbd on 127.0.0.1
# (docs/OTA.md, docs/CLI.md "Firmware on the server"): the freshness key, a trust root and a
# release uploaded in client mode, checked as a device would; rollouts created, paused,
# resumed and cancelled; a writer may list but change nothing; an image over the server's frame
# limit is refused with nothing kept; every change is in the audit log.
# Usage: cli_firmware_server_test.sh SENSORDBD SENSORDB
set -uo pipefail

SENSORDBD=${1:?usage: cli_firmware_server_test.sh SENSORDBD SENSORDB}
BIN=${2:?usage: cli_firmware_server_test.sh SENSORDBD SENSORDB}
source "$(dirname "$0")/cli_test_lib.sh"
unset SENSORDB_SERVER SENSORDB_CA_FILE SENSORDB_TOKEN_FILE SENSORDB_TOKEN SENSORDB_USER \
  SENSORDB_PASSWORD SENSORDB_TIMEOUT
PID=
cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

source "$(dirname "$0")/lib/sensordbd.sh"
sensordbd_init "$WORK/srv" --set limits.max_frame_bytes=1048576 || { fail "init"; exit 1; }
sensordbd_start "$WORK/srv" "$WORK/server.out" "$WORK/server.err" ||
  { fail "server did not start: $(cat "$WORK/server.err")"; exit 1; }
PID=$SENSORDBD_PID PORT=$CLIENT_PORT
CA=$WORK/srv/tls/ca.crt
ADMIN=$WORK/srv/bootstrap-admin.token

cli() {
  timeout 60 "$BIN" --server "127.0.0.1:$PORT" --ca-file "$CA" "$@" </dev/null
}
admin() { cli --token-file "$ADMIN" "$@"; }
fw() { "$BIN" firmware "$@"; }
F=$WORK/fw
mkdir "$F"

admin project create greenhouse >/dev/null || fail "project create"

# --- the release managers' side, offline, around the server's freshness key ---------------------
for k in a b c; do fw keygen "$F/$k.key" >/dev/null || fail "keygen $k"; done
expect_exit "freshness key over the network" 0 admin firmware freshness-key -p greenhouse \
  -o "$F/fresh.pub"
expect_eq "the same key twice" "$(cat "$F/fresh.pub")" \
  "$(admin firmware freshness-key -p greenhouse 2>&1)"
fw trust init -p greenhouse --key "$F/a.key.pub" --key "$F/b.key.pub" --key "$F/c.key.pub" \
  -t 2 --freshness-key "$F/fresh.pub" -o "$F/root1" >/dev/null || fail "trust init"
fw sign --key "$F/a.key" "$F/root1" >/dev/null || fail "sign root a"
expect_exit "a root signed once is refused" 1 admin firmware trust upload -p greenhouse "$F/root1"
[[ $ERR == *below-threshold* ]] || fail "root below threshold: $ERR"
fw sign --key "$F/b.key" "$F/root1" >/dev/null || fail "sign root b"
expect_exit "trust upload" 0 admin firmware trust upload -p greenhouse "$F/root1"
[[ $(cat "$WORK/out") == *"root version 1"* ]] || fail "trust upload says: $(cat "$WORK/out")"

head -c 300000 /dev/urandom >"$F/fw.bin"
fw manifest --root "$F/root1" --image "$F/fw.bin" --model DL-200 --version 2.1.0 \
  --security-version 4 --expires 30d -o "$F/fw.sdbm" >/dev/null || fail "manifest"
fw sign --key "$F/c.key" "$F/fw.sdbm" >/dev/null || fail "sign manifest c"
expect_exit "one signature is refused" 1 admin firmware upload -p greenhouse --image "$F/fw.bin" \
  "$F/fw.sdbm"
[[ $ERR == *below-threshold* ]] || fail "upload below threshold: $ERR"
fw sign --key "$F/a.key" "$F/fw.sdbm" >/dev/null || fail "sign manifest a"
expect_exit "upload" 0 admin firmware upload -p greenhouse --image "$F/fw.bin" "$F/fw.sdbm"
[[ $(cat "$WORK/out") == *"DL-200 2.1.0 (security version 4), 300000 bytes"* ]] ||
  fail "upload says: $(cat "$WORK/out")"

# An image above the server's frame limit (1 MiB here) is refused; nothing is kept.
head -c 2000000 /dev/urandom >"$F/big.bin"
fw manifest --root "$F/root1" --image "$F/big.bin" --model DL-200 --version 2.2.0 \
  --security-version 4 --expires 30d -o "$F/big.sdbm" >/dev/null || fail "big manifest"
fw sign --key "$F/a.key" "$F/big.sdbm" >/dev/null && fw sign --key "$F/b.key" "$F/big.sdbm" \
  >/dev/null || fail "sign big"
expect_exit "an image over the frame limit" 1 admin firmware upload -p greenhouse \
  --image "$F/big.bin" "$F/big.sdbm"
[[ $ERR == *"accepts frames up to 1048576 bytes"*"nothing was sent"* ]] ||
  fail "oversize image refusal does not name the frame limit: $ERR"

admin firmware releases -p greenhouse --json >"$WORK/rel.json" || fail "releases"
expect_eq "one release" 1 "$(json_get 'len(d)' <"$WORK/rel.json")"
expect_eq "its length" 300000 "$(json_get 'd[0]["image_length"]' <"$WORK/rel.json")"
ID=$(json_get 'd[0]["id"]' <"$WORK/rel.json")

# --- rollouts -------------------------------------------------------------------------------------
expect_exit "rollout create" 0 admin firmware rollout create -p greenhouse "$ID" -d dl-2 -d dl-1
expect_exit "rollout pause" 0 admin firmware rollout pause -p greenhouse 1
expect_exit "pausing a paused rollout changes nothing" 0 admin firmware rollout pause \
  -p greenhouse 1
expect_exit "rollout list" 0 admin firmware rollout list -p greenhouse --json
expect_eq "paused" paused "$(json_get 'd[0]["state"]' <"$WORK/out")"
expect_eq "devices" "['dl-1', 'dl-2']" "$(json_get 'd[0]["devices"]' <"$WORK/out")"
expect_exit "rollout resume" 0 admin firmware rollout resume -p greenhouse 1
expect_exit "a live rollout's release is kept" 1 admin firmware remove -p greenhouse "$ID"
[[ $ERR == *"offered by rollout 1"* ]] || fail "remove under a rollout: $ERR"
# In waves: two of four devices first, the rest after an hour; what they reported, per wave.
expect_exit "waves that fall" 1 admin firmware rollout create -p greenhouse "$ID" -d dl-1 \
  --waves 10,5,100
[[ $ERR == *"rising"* ]] || fail "falling waves: $ERR"
expect_exit "rollout in waves" 0 admin firmware rollout create -p greenhouse "$ID" -d dl-1 -d dl-2 \
  -d dl-3 -d dl-4 --waves 50,100 --failure-threshold 20 --soak 1h
[[ $(cat "$WORK/out") == *"waves 50,100 (3600 s each), halts when more than 20 %"* ]] ||
  fail "create in waves says: $(cat "$WORK/out")"
expect_exit "rollout status" 0 admin firmware rollout status -p greenhouse 2 --json
expect_eq "two waves" 2 "$(json_get 'len(d["waves"])' <"$WORK/out")"
expect_eq "the first wave is open" True "$(json_get 'd["waves"][0]["open"]' <"$WORK/out")"
expect_eq "the second is not" False "$(json_get 'd["waves"][1]["open"]' <"$WORK/out")"
expect_eq "half the devices in each" "2 2" \
  "$(json_get '" ".join(str(w["devices"]) for w in d["waves"])' <"$WORK/out")"
expect_eq "nobody reported yet" "2 True" \
  "$(json_get 'str(d["waves"][0]["no_report"]) + " " + str(d["reports"])' <"$WORK/out")"
expect_exit "rollout status, as a table" 0 admin firmware rollout status -p greenhouse 2
[[ $(cat "$WORK/out") == *"wave 1 of 2 (50 %)"* ]] || fail "status says: $(cat "$WORK/out")"
expect_exit "no rollout 9" 1 admin firmware rollout status -p greenhouse 9
# To every device of the release's model: no list.
expect_exit "devices and a model" 1 admin firmware rollout create -p greenhouse "$ID" -d dl-1 \
  --model DL-200
expect_exit "another model than the release's" 1 admin firmware rollout create -p greenhouse \
  "$ID" --model DL-300
[[ $ERR == *"is for model 'DL-200'"* ]] || fail "model mismatch: $ERR"
expect_exit "rollout to a model" 0 admin firmware rollout create -p greenhouse "$ID" \
  --model DL-200 --waves 10,100 --soak 1h
[[ $(cat "$WORK/out") == *"to every device of model DL-200"* ]] ||
  fail "create to a model says: $(cat "$WORK/out")"
expect_exit "rollout list, a model" 0 admin firmware rollout list -p greenhouse --json
expect_eq "the model target" "DL-200 0" \
  "$(json_get 'd[2]["model"] + " " + str(len(d[2]["devices"]))' <"$WORK/out")"
expect_exit "rollout cancel, a model" 0 admin firmware rollout cancel -p greenhouse 3
expect_exit "device reports" 0 admin firmware devices -p greenhouse --json
expect_eq "no device reported" "[]" "$(cat "$WORK/out")"

# --- who may -----------------------------------------------------------------------------------
admin service-account create ingest >/dev/null || fail "service-account create"
admin token issue ingest --out "$WORK/ingest.token" >/dev/null || fail "token issue"
admin grant set greenhouse ingest writer >/dev/null || fail "grant writer"
writer() { cli --token-file "$WORK/ingest.token" "$@"; }
expect_exit "a writer lists" 0 writer firmware releases -p greenhouse
expect_exit "a writer lists rollouts" 0 writer firmware rollout list -p greenhouse
expect_exit "a writer reads a rollout's status" 0 writer firmware rollout status -p greenhouse 2
expect_exit "a writer reads device reports" 0 writer firmware devices -p greenhouse -d dl-1
expect_exit "a writer may not upload" 1 writer firmware upload -p greenhouse --image "$F/fw.bin" \
  "$F/fw.sdbm"
[[ $ERR == *"role writer"* ]] || fail "writer upload message: $ERR"
expect_exit "a writer may not cancel" 1 writer firmware rollout cancel -p greenhouse 1
expect_exit "a writer may not make the key" 1 writer firmware freshness-key -p greenhouse
expect_exit "another project is not found" 1 admin firmware releases -p nowhere
[[ $ERR == *"does not exist"* ]] || fail "unknown project: $ERR"

expect_exit "rollout cancel" 0 admin firmware rollout cancel -p greenhouse 1
expect_exit "rollout cancel, waves" 0 admin firmware rollout cancel -p greenhouse 2
expect_exit "remove" 0 admin firmware remove -p greenhouse "$ID"
expect_eq "no release left" "[]" "$(admin firmware releases -p greenhouse --json)"

# --- audit ----------------------------------------------------------------------------------------
json_lines() { python3 -c "import json,sys; print(' '.join(sorted(set(str(json.loads(l)['$1']) for l in sys.stdin))))"; }
admin audit list --project greenhouse --limit 0 --json >"$WORK/audit.json" || fail "audit list"
actions=$(json_lines action <"$WORK/audit.json")
for a in firmware-key-created firmware-root-added firmware-release-added \
  firmware-release-removed firmware-rollout-changed; do
  [[ " $actions " == *" $a "* ]] || fail "audit lacks $a (has: $actions)"
done
expect_eq "the key is created once" 1 "$(grep -c '"action": *"firmware-key-created"' "$WORK/audit.json")"
expect_eq "create, pause, resume, cancel; create, cancel in waves and to a model: eight" 8 \
  "$(grep -c '"action": *"firmware-rollout-changed"' "$WORK/audit.json")"
expect_eq "refused uploads are audited as failures" 2 \
  "$(grep -c '"outcome": *"failure"' "$WORK/audit.json")"

kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
finish "cli firmware server"
