#!/usr/bin/env bash
# End-to-end test of the `sensordb` CLI: imports line protocol and CSV into a fresh data
# directory, queries it in every mode and format, and checks exact output, exit codes, and that
# a bad input line changes nothing. Usage: cli_test.sh /path/to/sensordb
set -euo pipefail

BIN=${1:?usage: cli_test.sh /path/to/sensordb}
source "$(dirname "$0")/cli_test_lib.sh"
[[ $(stat -c %a "$KEY") == 600 ]] || { echo "keygen made a key that is not 0600" >&2; exit 1; }

points() { sdb stats --json | json_get 'd["points"]'; }

# --- read commands never create a data directory ---------------------------------------------
expect_exit "query on a missing dir" 1 sdb query -p x
[[ $ERR == "sensordb: no database in"* ]] || fail "missing dir message: $ERR"
[[ ! -e $DB ]] || fail "a read command created the data directory"
expect_exit "usage error" 2 "$BIN" project list
expect_exit "latest needs --device" 2 sdb query -p x --latest

# --- projects ----------------------------------------------------------------------------------
sdb project create greenhouse --retention-days 30 >/dev/null
expect_eq "project list" "name,id,retention_days
greenhouse,1,30" "$(sdb project list -f csv)"
sdb project retention greenhouse 0 >/dev/null
expect_eq "retention" "greenhouse,1,0" "$(sdb project list -f csv | tail -n1)"

# --- the master key is required and checked ----------------------------------------------------
expect_exit "no key" 1 "$BIN" --data-dir "$DB" project list
[[ $ERR == "sensordb: no master key"* ]] || fail "no key message: $ERR"
head -c 32 /dev/urandom >"$WORK/other.key"
chmod 600 "$WORK/other.key"
expect_exit "wrong key" 1 "$BIN" --data-dir "$DB" --key-file "$WORK/other.key" project list
[[ -n $ERR && $ERR != *greenhouse* ]] || fail "wrong key message: $ERR"
[[ $(SENSORDB_KEY_FILE=$KEY "$BIN" -D "$DB" project list -f csv | tail -n1) == greenhouse,1,0 ]] ||
  fail "SENSORDB_KEY_FILE"

# --- line protocol: escapes, three value types in one line, precision -------------------------
cat >"$WORK/in.lp" <<'LP'
# greenhouse readings
env,site=north,device=dev1 temp=21.5,hum=40i,door=true 1700000000
env,device=dev1 temp=22.25,hum=41i,door=F 1700000060
env,device=dev\ 2\,b temp=-3.5e-1 1700000010
LP
out=$(sdb import -p greenhouse --precision s "$WORK/in.lp")
[[ $out == "imported 7 points into 4 series in "* ]] || fail "lp summary: $out"

expect_eq "raw csv" "device,channel,timestamp_ns,time,value
\"dev 2,b\",env.temp,1700000010000000000,2023-11-14T22:13:30Z,-0.35
dev1,env.door,1700000000000000000,2023-11-14T22:13:20Z,true
dev1,env.door,1700000060000000000,2023-11-14T22:14:20Z,false
dev1,env.hum,1700000000000000000,2023-11-14T22:13:20Z,40
dev1,env.hum,1700000060000000000,2023-11-14T22:14:20Z,41
dev1,env.temp,1700000000000000000,2023-11-14T22:13:20Z,21.5
dev1,env.temp,1700000060000000000,2023-11-14T22:14:20Z,22.25" "$(sdb query -p greenhouse -f csv)"

expect_eq "raw range and limit" "dev1,env.temp,1700000060000000000,2023-11-14T22:14:20Z,22.25" \
  "$(sdb query -p greenhouse -d dev1 -c env.temp --start 2023-11-14T22:14:00Z --end 1700000061000000000 -f csv | tail -n +2)"
expect_eq "limit" "2" "$(sdb query -p greenhouse -f csv --limit 2 | tail -n +2 | wc -l)"

latest=$(sdb query -p greenhouse -d dev1 --latest -f json)
expect_eq "latest json" "env.door False 1700000060000000000|env.hum 41 1700000060000000000|env.temp 22.25 1700000060000000000" \
  "$(json_get '"|".join(" ".join(str(r[k]) for k in ("channel", "value", "timestamp_ns")) for r in d)' <<<"$latest")"

expect_eq "agg every 1m" "bucket_start_ns,time,count,sum,mean,min,max,first,last
1699999980000000000,2023-11-14T22:13:00Z,2,21.15,10.575,-0.35,21.5,21.5,-0.35
1700000040000000000,2023-11-14T22:14:00Z,1,22.25,22.25,22.25,22.25,22.25,22.25" \
  "$(sdb query -p greenhouse -c env.temp --agg count,sum,mean --agg min,max,first,last --every 1m -f csv)"

agg=$(sdb query -p greenhouse -d dev1 --agg count,mean --per-series --start 0 -f json)
expect_eq "agg per series json" "env.door 2 0.5|env.hum 2 40.5|env.temp 2 21.875" \
  "$(json_get '"|".join(" ".join(str(r[k]) for k in ("channel", "count", "mean")) for r in d)' <<<"$agg")"

# --- labels: the imported line's site tag, one set by hand, then filtered and grouped --------
sdb device label -p greenhouse -d dev1 --from 1700000030000000000 site=south room=3 >/dev/null
sdb device label -p greenhouse -d dev1 --from 1700000070000000000 --unset room >/dev/null
expect_eq "label histories" "device,key,value,from_ns,from
dev1,room,3,1700000030000000000,2023-11-14T22:13:50Z
dev1,room,,1700000070000000000,2023-11-14T22:14:30Z
dev1,site,north,1700000000000000000,2023-11-14T22:13:20Z
dev1,site,south,1700000030000000000,2023-11-14T22:13:50Z" "$(sdb device labels -p greenhouse -f csv)"
expect_eq "where label" "dev1,env.temp,1700000060000000000,2023-11-14T22:14:20Z,22.25" \
  "$(sdb query -p greenhouse -c env.temp --where site=south --where 'room=~^3$' -f csv | tail -n +2)"
expect_eq "where label absent" '"dev 2,b",env.temp,1700000010000000000,2023-11-14T22:13:30Z,-0.35' \
  "$(sdb query -p greenhouse -c env.temp --where 'site=' -f csv | tail -n +2)"
expect_eq "group by label" "site,bucket_start_ns,time,count,sum
,1699999980000000000,2023-11-14T22:13:00Z,1,-0.35
north,1699999980000000000,2023-11-14T22:13:00Z,1,21.5
south,1700000040000000000,2023-11-14T22:14:00Z,1,22.25" \
  "$(sdb query -p greenhouse -c env.temp --agg count,sum --every 1m --group-by site -f csv)"
expect_exit "bad condition" 1 sdb query -p greenhouse --where '!x'
expect_exit "reserved label" 1 sdb device label -p greenhouse -d dev1 time=1

# --- CSV: long and wide layouts, RFC 3339 and integer timestamps, special floats --------------
cat >"$WORK/long.csv" <<'CSV'
timestamp,device,channel,value
2024-01-01T00:00:00Z,dev3,power,1.5
2024-01-01T00:00:00.25Z,dev3,power,NaN
1704067201000000000,dev3,power,-Inf
CSV
cat >"$WORK/wide.csv" <<'CSV'
timestamp,device,volts,env.hum
2024-01-01T00:00:00Z,dev1,230.1,42
2024-01-01T00:01:00Z,dev1,,43
CSV
sdb import -p greenhouse "$WORK/long.csv" >/dev/null
sdb import -p greenhouse "$WORK/wide.csv" >/dev/null
expect_eq "csv long" "dev3,power,1704067200000000000,2024-01-01T00:00:00Z,1.5
dev3,power,1704067200250000000,2024-01-01T00:00:00.25Z,NaN
dev3,power,1704067201000000000,2024-01-01T00:00:01Z,-Inf" \
  "$(sdb query -p greenhouse -d dev3 -f csv | tail -n +2)"
expect_eq "csv wide keeps int64 channel" "40 41 42 43" \
  "$(sdb query -p greenhouse -d dev1 -c env.hum -f json | json_get '" ".join(str(r["value"]) for r in d)')"
expect_eq "json special floats" '"NaN"' \
  "$(sdb query -p greenhouse -d dev3 -f json | grep -o '"value": "NaN"' | cut -d' ' -f2)"
expect_eq "points so far" "13" "$(points)"

# --- bad input: exit 1, FILE:LINE message, nothing applied ------------------------------------
printf 'env,device=dev9 temp=1 1\nenv,device=dev9 temp=2 2\nenv,site=x temp=3 3\n' >"$WORK/bad.lp"
expect_exit "bad lp" 1 sdb import -p greenhouse --batch-points 1 "$WORK/bad.lp"
expect_eq "bad lp message" "sensordb: $WORK/bad.lp:3: missing tag 'device' (each line needs device=NAME; expected measurement,device=NAME field=value [timestamp])" "$ERR"
printf 'env,device=dev1 temp=1 5\nenv,device=dev1 temp="hot" 6\n' >"$WORK/str.lp"
expect_exit "string field" 1 sdb import -p greenhouse "$WORK/str.lp"
[[ $ERR == *"str.lp:2: field 'temp' is a string"* ]] || fail "string message: $ERR"
printf 'env,device=dev1 hum=1.5 7\n' >"$WORK/type.lp"
expect_exit "type conflict" 1 sdb import -p greenhouse "$WORK/type.lp"
[[ $ERR == *"type.lp:1: channel dev1/env.hum holds int64 values, this one is float64"* ]] || fail "type message: $ERR"
printf 'timestamp,device,channel,value\n1,dev9,x,1\n2,dev9,x,oops\n' >"$WORK/bad.csv"
expect_exit "bad csv" 1 sdb import -p greenhouse "$WORK/bad.csv"
[[ $ERR == *"bad.csv:3: bad float64 value 'oops' for channel dev9/x"* ]] || fail "csv message: $ERR"
printf 'env,device=ok t=1 1\nenv,device=bad\xff t=1 1\n' >"$WORK/utf8.lp"
expect_exit "bad utf-8 name" 1 sdb import -p greenhouse --batch-points 1 "$WORK/utf8.lp"
[[ $ERR == *"utf8.lp:2: device name is not UTF-8"* ]] || fail "utf-8 message: $ERR"
expect_eq "nothing applied" "13" "$(points)"
expect_exit "no dev9" 1 sdb query -p greenhouse -d dev9

# --- stdin: batches before the bad line stay applied ------------------------------------------
printf 'env,device=dev4 t=1 1\nenv,device=dev4 t=2 2\n' | sdb import -p greenhouse - >/dev/null
expect_eq "stdin import" "15" "$(points)"
rc=0
printf 'env,device=dev5 t=1 1\nenv,device=dev5 t=x 2\n' | sdb import -p greenhouse --batch-points 1 - \
  >/dev/null 2>&1 || rc=$?
expect_eq "stdin bad line exit" "1" "$rc"
expect_eq "stdin earlier batch applied" "16" "$(points)"

# --- devices, channels, stats, maintenance, drop -----------------------------------------------
sdb device register -p greenhouse logger-1 --model X1 --firmware 1.2.3 >/dev/null
sdb channel register -p greenhouse -d logger-1 temperature --type float64 --unit degC >/dev/null
expect_eq "device list" "logger-1,X1,1.2.3" "$(sdb device list -p greenhouse -f csv | grep logger-1)"
expect_eq "channel list" "logger-1,temperature,float64,degC" \
  "$(sdb channel list -p greenhouse -d logger-1 -f csv | tail -n1 | cut -d, -f1-4)"
sdb flush >/dev/null
sdb compact >/dev/null
stats=$(sdb stats --json)
expect_eq "stats json" "1 16 0 True" \
  "$(json_get 'd["projects"], d["points"], d["head_points"], d["blocks"] > 0' <<<"$stats" | tr -d '(),')"
expect_eq "data survives reopen" "22.25" \
  "$(sdb query -p greenhouse -d dev1 -c env.temp --latest -f csv | tail -n1 | cut -d, -f5)"
# --- keys: status, project rotation with re-encryption, master rotation --------------------------
expect_eq "key status versions" "1" "$(sdb key status --json | json_get 'len(d["projects"][0]["versions"])')"
sdb key rotate-project -p greenhouse --reencrypt >/dev/null
expect_eq "only v2 left" "[2]" \
  "$(sdb key status --json | json_get '[v["version"] for v in d["projects"][0]["versions"]]')"
"$BIN" keygen "$WORK/new.key" >/dev/null
expect_exit "keygen never overwrites" 1 "$BIN" keygen "$WORK/new.key"
sdb key rotate-master --new-key-file "$WORK/new.key" >/dev/null
expect_exit "old master key refused" 1 sdb stats
[[ $ERR == *"wrong master key"* ]] || fail "old key message: $ERR"
KEY=$WORK/new.key
expect_eq "data after rotations" "22.25" \
  "$(sdb query -p greenhouse -d dev1 -c env.temp --latest -f csv | tail -n1 | cut -d, -f5)"

sdb project drop greenhouse </dev/null >/dev/null
expect_eq "dropped" "name,id,retention_days" "$(sdb project list -f csv)"

finish cli_test
