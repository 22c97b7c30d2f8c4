#!/usr/bin/env bash
# Real InfluxDB clients from Debian against a real sensordbd on 127.0.0.1 (docs/REST.md,
# docs/INFLUXQL.md): python3-influxdb 5.3 with its natural login (a user name and the token as
# password, sent as HTTP Basic) pings, lists databases, runs SHOW statements, writes with each
# time_precision and reads the points back exactly; the influx 1.x CLI logs in with -username
# and -password over TLS, runs SHOW DATABASES, a SELECT grouped by a tag, and an INSERT (which it sends with a leading
# space); promtool checks the server's metrics, which count the REST points. Every client call
# is bounded by `timeout`.
# Usage: influx_clients_test.sh SENSORDBD SENSORDB
set -uo pipefail
SENSORDBD=$1
SENSORDB=$2
WORK=$(mktemp -d)
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3  # Debian's, where python3-influxdb is installed
for tool in "$PY" /usr/bin/influx /usr/bin/promtool; do
  [[ -x $tool ]] || fail "$tool is missing: run tools/bootstrap.sh"
done
source "$(dirname "$0")/lib/sensordbd.sh"
sensordbd_init "$WORK/srv" || fail "init failed"
sensordbd_start "$WORK/srv" "$WORK/out.log" "$WORK/err.log" ||
  fail "sensordbd did not start: $(cat "$WORK/err.log")"
PID=$SENSORDBD_PID
CA=$(find "$WORK/srv/tls" -name 'ca.crt' -o -name 'ca.pem' | head -1)
sdb() { "$SENSORDB" --server "127.0.0.1:$CLIENT_PORT" --ca-file "$CA" --token-file "$WORK/srv/bootstrap-admin.token" "$@"; }
sdb project create plant >/dev/null || fail "project create"
sdb project create hidden >/dev/null || fail "project create"
sdb service-account create grafana >/dev/null || fail "service-account create"
sdb token issue grafana --out "$WORK/grafana.token" >/dev/null || fail "token issue"
sdb grant set plant grafana writer >/dev/null || fail "grant"
TOKEN=$(cat "$WORK/grafana.token")

# --- python3-influxdb: login, ping, databases, writes in every precision, SHOW, read back ---
cat >"$WORK/client.py" <<'EOF'
import sys
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError

port, ca, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = InfluxDBClient(host="127.0.0.1", port=port, username="grafana", password=token,
                   database="plant", ssl=True, verify_ssl=ca, timeout=10)
version = c.ping()
assert version == "1.8.10", version
assert c.get_list_database() == [{"name": "plant"}], c.get_list_database()
written = {}
for i, precision in enumerate(["n", "u", "ms", "s", "m", "h"]):
    scale = {"n": 10**9, "u": 10**6, "ms": 10**3, "s": 1, "m": 1 / 60, "h": 1 / 3600}[precision]
    seconds = 1699999200 + 3600 * i  # a whole hour
    t = int(seconds * scale)
    site = "north" if i < 3 else "south"  # a tag besides device: the device's label
    point = {"measurement": "env", "tags": {"device": "p-" + precision, "site": site},
             "time": t, "fields": {"temp": 20.5 + i}}
    assert c.write_points([point], time_precision=precision)
    written["p-" + precision] = (seconds * 10**9, 20.5 + i)
rs = c.query("SHOW TAG VALUES FROM env WITH KEY = device")
assert sorted(p["value"] for p in rs.get_points()) == sorted(written), list(rs.get_points())
# The hourly mean per device, as a dashboard asks it, against the values written above.
rs = c.query("SELECT mean(temp) FROM env WHERE time >= '2023-11-14T22:00:00Z' "
             "AND time < '2023-11-15T04:00:00Z' GROUP BY time(1h), device fill(none)", epoch="s")
got = {(k[1]["device"], p["time"]): p["mean"] for k, points in rs.items() for p in points}
assert got == {(d, ns // 10**9): v for d, (ns, v) in written.items()}, (got, written)
# The same grouped by the site tag, and filtered by it (docs/LABELS.md).
rs = c.query("SELECT mean(temp) FROM env WHERE time >= '2023-11-14T22:00:00Z' "
             "AND time < '2023-11-15T04:00:00Z' GROUP BY time(1h), site fill(none)", epoch="s")
got = {(k[1]["site"], p["time"]): p["mean"] for k, points in rs.items() for p in points}
sites = {"p-n": "north", "p-u": "north", "p-ms": "north"}
assert got == {(sites.get(d, "south"), ns // 10**9): v for d, (ns, v) in written.items()}, got
rs = c.query("SELECT count(temp) FROM env WHERE site =~ /^no/")
assert list(rs.get_points()) == [{"time": "1970-01-01T00:00:00Z", "count": 3}], rs.raw
rs = c.query("SHOW TAG KEYS FROM env")
assert [p["tagKey"] for p in rs.get_points()] == ["device", "site"], rs.raw
rs = c.query("SHOW FIELD KEYS")
assert list(rs.get_points("env")) == [{"fieldKey": "temp", "fieldType": "float"}], rs.raw
try:
    c.query("DROP DATABASE plant")
    raise SystemExit("DROP DATABASE was not refused")
except InfluxDBClientError as e:
    assert e.code == 400 and "not supported" in str(e), e
bad = InfluxDBClient(host="127.0.0.1", port=port, username="grafana", password="sdb_wrong",
                     database="plant", ssl=True, verify_ssl=ca, timeout=10)
try:
    bad.write_points([{"measurement": "env", "tags": {"device": "x"}, "fields": {"t": 1.0}}])
    raise SystemExit("a wrong token was accepted")
except InfluxDBClientError as e:
    assert e.code == 401, e
if len(sys.argv) > 4:  # the points of the first pass as /api/v1 returned them: device time value
    for line in open(sys.argv[4]):
        device, t, v = line.split()
        want = written.pop(device)
        assert (int(t), float(v)) == want, (device, t, v, want)
    assert not written, written
print("python3-influxdb: ok")
EOF
# The points are read back through /api/v1 after the writes, and fed to the script's last step.
read_back() {
  for d in p-n p-u p-ms p-s p-m p-h; do
    curl -s -m 10 --cacert "$CA" -H "Authorization: Token $TOKEN" \
      "https://127.0.0.1:$REST_PORT/api/v1/projects/plant/query/raw?device=$d" |
      $PY -c 'import json,sys; s=json.load(sys.stdin)["series"][0]; [print(s["device"], p[0], p[1]) for p in s["points"]]'
  done
}
timeout 60 $PY "$WORK/client.py" "$REST_PORT" "$CA" "$TOKEN" >"$WORK/py1.out" 2>&1 ||
  fail "python3-influxdb: $(cat "$WORK/py1.out")"
read_back >"$WORK/points" || fail "read back"
[[ $(wc -l <"$WORK/points") == 6 ]] || fail "six points expected: $(cat "$WORK/points")"
# The second pass writes the same points again (idempotent: same time, same value) and checks
# the first pass's points as read back.
timeout 60 $PY "$WORK/client.py" "$REST_PORT" "$CA" "$TOKEN" "$WORK/points" >"$WORK/py2.out" 2>&1 ||
  fail "python3-influxdb read back: $(cat "$WORK/py2.out")"

# --- the influx 1.x CLI: login over TLS with the CA, SHOW DATABASES, INSERT -----------------
influx() {
  SSL_CERT_FILE=$CA timeout 30 /usr/bin/influx -ssl -host 127.0.0.1 -port "$REST_PORT" \
    -username grafana -password "$1" "${@:2}"
}
out=$(influx "$TOKEN" -execute 'SHOW DATABASES' 2>&1) || fail "influx SHOW DATABASES: $out"
grep -qx 'plant' <<<"$out" || fail "influx does not list plant: $out"
grep -q 'hidden' <<<"$out" && fail "influx lists a project without a grant: $out"
out=$(influx "$TOKEN" -database plant -execute 'INSERT env,device=cli,site=lab temp=7.25 1700000000000000000' 2>&1) ||
  fail "influx INSERT: $out"
body=$(curl -s -m 10 --cacert "$CA" -H "Authorization: Token $TOKEN" \
  "https://127.0.0.1:$REST_PORT/api/v1/projects/plant/query/raw?device=cli")
grep -q '\[1700000000000000000,7.25\]' <<<"$body" || fail "the INSERT did not land: $body"
# A token with a wrong secret: refused (the 1.x CLI prints the error but exits 0).
wrong=${TOKEN%?}$([[ ${TOKEN: -1} == A ]] && echo B || echo A)
out=$(influx "$wrong" -execute 'SHOW DATABASES' 2>&1)
grep -q '^ERR: ' <<<"$out" || fail "a wrong token was not refused: $out"
grep -q 'plant' <<<"$out" && fail "a wrong token listed the projects: $out"
out=$(influx "$TOKEN" -database plant -precision rfc3339 -execute \
  "SELECT mean(temp) FROM env WHERE time >= '2023-11-14T22:00:00Z' AND time < '2023-11-15T00:00:00Z' GROUP BY time(1h), device" 2>&1) ||
  fail "influx SELECT: $out"
grep -q 'tags: device=p-n' <<<"$out" || fail "influx SELECT lacks the device p-n: $out"
grep -q '^2023-11-14T22:00:00Z 20.5$' <<<"$out" || fail "influx SELECT lacks p-n's mean: $out"
# GROUP BY a tag (the device's label): north holds p-n and p-u, lab the CLI's own point.
out=$(influx "$TOKEN" -database plant -precision rfc3339 -execute \
  "SELECT mean(temp) FROM env WHERE time >= '2023-11-14T22:00:00Z' AND time < '2023-11-15T00:00:00Z' GROUP BY time(1h), site" 2>&1) ||
  fail "influx SELECT GROUP BY site: $out"
grep -q 'tags: site=north' <<<"$out" || fail "influx GROUP BY site lacks north: $out"
grep -q 'tags: site=lab' <<<"$out" || fail "influx GROUP BY site lacks lab: $out"
grep -q '^2023-11-14T23:00:00Z 21.5$' <<<"$out" || fail "influx GROUP BY site: north's mean: $out"
grep -q '^2023-11-14T22:00:00Z 7.25$' <<<"$out" || fail "influx GROUP BY site: lab's mean: $out"
echo "influx CLI: ok"

# --- Grafana's InfluxQL data source: its exact request (POST, form body, epoch=ms, quoted
# names, $timeFilter in milliseconds, GROUP BY time($__interval) fill(null)) -----------------
q='SELECT mean("temp") FROM "env" WHERE ("device" = '"'"'p-s'"'"') AND time >= 1700010000000ms and time <= 1700013599000ms GROUP BY time(30m) fill(null)'
body=$(curl -s -m 10 --cacert "$CA" -u "grafana:$TOKEN" --data-urlencode "q=$q" \
  "https://127.0.0.1:$REST_PORT/query?db=plant&epoch=ms")
want='{"results":[{"statement_id":0,"series":[{"name":"env","columns":["time","mean"],"values":[[1700010000000,23.5],[1700011800000,null]]}]}]}'
[[ $body == "$want" ]] || fail "Grafana's query: $body"
echo "Grafana's request: ok"

# --- promtool: the exposition lints clean and counts the REST points -------------------------
curl -s -m 10 -H "Authorization: Bearer $(cat "$WORK/srv/metrics.token")" \
  "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics" || fail "metrics"
lint=$(/usr/bin/promtool check metrics <"$WORK/metrics" 2>&1) || fail "promtool check metrics: $lint"
points=$(sed -n 's/^sensordb_ingest_points_total \([0-9.e+]*\)$/\1/p' "$WORK/metrics")
# 6 points per python pass, twice, and the CLI's one.
[[ $points == 13 ]] || fail "sensordb_ingest_points_total is '$points', not 13"
echo "promtool: ok"
echo "influx_clients: ok"
