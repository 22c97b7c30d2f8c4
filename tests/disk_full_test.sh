#!/usr/bin/env bash
# Issue 12, defect 6: a full disk is a server condition, never "batch too large". A real
# sensordbd with its data directory on a small tmpfs: written until full over REST, the write
# answers 507 (not 413), the native client (`sensordb import`) gets the typed NoSpace error, an
# MQTT QoS 1 publish gets no PUBACK and stores nothing, the metric counts it; after a filler file
# is deleted the same server accepts writes again (REST, native, MQTT), no restart. Needs root (mount); skipped otherwise. Every loop and curl call is bounded.
# Usage: disk_full_test.sh SENSORDBD SENSORDB
set -uo pipefail
SENSORDBD=$1
SENSORDB=$2
WORK=$(mktemp -d)
PID=
MOUNTED=
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [[ -n $MOUNTED ]] && umount "$WORK/full"
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 0; }
[[ $(id -u) == 0 ]] || skip "needs root to mount a tmpfs"
mkdir "$WORK/full"
mount -t tmpfs -o size=48m tmpfs "$WORK/full" 2>"$WORK/mount.err" ||
  skip "cannot mount a tmpfs: $(cat "$WORK/mount.err")"
MOUNTED=1
source "$(dirname "$0")/lib/sensordbd.sh"
sensordbd_init "$WORK/srv" || fail "init failed"
cp -a "$WORK/srv/data" "$WORK/full/data" || fail "copying the data directory"
sed -i "s|^data_dir = .*|data_dir = '$WORK/full/data'|" "$WORK/srv/sensordbd.toml"
sensordbd_check "$WORK/srv" "data_dir=$WORK/full/data" || fail "data_dir did not take"
sensordbd_start "$WORK/srv" "$WORK/out.log" "$WORK/err.log" ||
  fail "sensordbd did not start: $(cat "$WORK/err.log")"
PID=$SENSORDBD_PID
CA=$(find "$WORK/srv/tls" -name 'ca.crt' -o -name 'ca.pem' | head -1)
TOKEN=$(cat "$WORK/srv/bootstrap-admin.token")
U=https://127.0.0.1:$REST_PORT
code() { curl -s -m 20 -o "$WORK/body" -w '%{http_code}' --cacert "$CA" "$@"; }
sdb() { timeout 60 "$SENSORDB" --server "127.0.0.1:$CLIENT_PORT" --ca-file "$CA" --token-file "$WORK/srv/bootstrap-admin.token" "$@"; }
sdb project create plant >/dev/null || fail "project create"
A=(-H "Authorization: Token $TOKEN")
# A device for MQTT (docs/DEVICES.md): its key, CSR and certificate chain.
"$SENSORDB" device keygen -p plant -d dl-1 --key "$WORK/dl-1.key" --csr "$WORK/dl-1.csr" >/dev/null ||
  fail "device keygen"
sdb device enroll -p plant -d dl-1 --csr "$WORK/dl-1.csr" --days 2 --out "$WORK/dl-1.pem" >/dev/null ||
  fail "device enroll"
# pub QOS MESSAGE: one publish of dl-1 (bounded: mosquitto_pub may retry a lost connection).
pub() {
  timeout 10 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$CA" --cert "$WORK/dl-1.pem" \
    --key "$WORK/dl-1.key" --tls-version tlsv1.3 -i dl-1 -q "$1" -t sensordb/plant/dl-1/lp -m "$2"
}
pub 1 "m v=1 1" >"$WORK/pub.out" 2>&1 || fail "mosquitto_pub before the disk is full: $(cat "$WORK/pub.out")"
# Leave about 2 MiB free: the filler is what is deleted later to make room.
free_kib=$(df --output=avail -k "$WORK/full" | tail -1)
dd if=/dev/zero of="$WORK/full/filler" bs=1K count=$((free_kib - 2048)) status=none ||
  fail "writing the filler"
# Batches of 50000 points of incompressible values, until a write is refused (at most 120):
# RocksDB preallocates its WAL (about 18 MiB here), so the disk is full only past that.
batch() {
  python3 -c "import random,sys
sys.stdout.write(''.join('env,device=d%d v=%r %d\n' % (i % 8, random.random(), $1 * 50000 + i + 1) for i in range(50000)))"
}
batch 1000 >"$WORK/native.lp"  # made now: the native import follows the 507 at once
status=204 n=0
for n in $(seq 120); do
  batch "$n" >"$WORK/lp"
  status=$(code "${A[@]}" --data-binary @"$WORK/lp" "$U/write?db=plant&precision=s")
  [[ $status == 204 ]] || break
done
[[ $status == 507 ]] || fail "a write to a full disk: HTTP $status after $n batches, expected 507: $(cat "$WORK/body")"
grep -q 'no space' "$WORK/body" || fail "the 507 body does not say why: $(cat "$WORK/body")"
# The native protocol: the typed error, by name. Right after the 507: a token's use is audited
# with its last-used time once a minute, and while the disk is full that write fails, so a
# login that falls due then is refused (fail closed: docs/AUTH.md). That refusal is the one
# other acceptable answer.
sdb import -p plant --precision s "$WORK/native.lp" >"$WORK/import.out" 2>&1
rc=$?
if [[ $rc != 75 ]] && grep -q 'the audit log cannot be written' "$WORK/import.out"; then
  echo "disk_full: the token's last-used audit fell due while the disk was full; login refused"
else
  [[ $rc == 75 ]] || fail "import into a full disk: exit $rc, expected 75 (NoSpace): $(cat "$WORK/import.out")"
  grep -q 'NoSpace' "$WORK/import.out" || fail "import error is not NoSpace: $(cat "$WORK/import.out")"
fi
# MQTT QoS 1: no PUBACK for what was not stored, so mosquitto_pub does not succeed; nothing stored.
pub 1 "m v=2 2" >"$WORK/pub.out" 2>&1 && fail "a QoS 1 publish to a full disk was acknowledged"
[[ $(code "${A[@]}" "$U/api/v1/projects/plant/query/raw?device=dl-1") == 200 ]] || fail "raw dl-1"
grep -q '"count":1' "$WORK/body" || fail "dl-1 should have its first point only: $(cat "$WORK/body")"
# Free the space: the same server stores again (bounded retries: it may take a moment).
rm -f "$WORK/full/filler"
for n in $(seq 60); do
  status=$(code "${A[@]}" --data-binary @"$WORK/lp" "$U/write?db=plant&precision=s")
  [[ $status == 204 ]] && break
  sleep 0.5
done
[[ $status == 204 ]] || fail "no write accepted after space was freed: HTTP $status $(cat "$WORK/body")"
sdb import -p plant --precision s "$WORK/native.lp" >"$WORK/import.out" 2>&1 ||
  fail "import after space was freed: $(cat "$WORK/import.out")"
pub 1 "m v=3 3" >"$WORK/pub.out" 2>&1 || fail "mosquitto_pub after space was freed: $(cat "$WORK/pub.out")"
[[ $(code "${A[@]}" "$U/api/v1/projects/plant/query/raw?device=dl-1") == 200 ]] || fail "raw dl-1"
grep -q '"count":2' "$WORK/body" || fail "dl-1 after space was freed: $(cat "$WORK/body")"
kill -0 "$PID" || fail "the server died"
# Counted (read now: while the disk is full, authenticating the scrape cannot be audited).
curl -s -m 10 -H "Authorization: Bearer $(cat "$WORK/srv/metrics.token")" \
  "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics" || fail "metrics"
grep -Eq '^sensordb_write_errors_total\{reason="no_space"\} [1-9]' "$WORK/metrics" ||
  fail "no_space not counted: $(grep write_errors "$WORK/metrics" || head -c 300 "$WORK/metrics")"
[[ $(grep -c 'the data disk is full' "$WORK/err.log") -ge 1 ]] || fail "no log line: $(tail -5 "$WORK/err.log")"
echo "disk_full: ok"
