#!/usr/bin/env bash
# The `sensordb` CLI in client mode against a real sensordbd on 127.0.0.1: with the bootstrap
# token it creates a project, imports line protocol and CSV, queries in every format; creates a
# user and a service account, issues a token to a 0600 file, grants roles, and checks that a
# writer writes, a reader is refused, a revoked token is refused, the audit log shows it all and
# verifies; local-only commands are refused; no secret is taken from argv, and none appears in
# any output but `token issue`'s or in the server's log. Every wait is bounded.
# Usage: cli_client_test.sh SENSORDBD SENSORDB
set -uo pipefail

SENSORDBD=${1:?usage: cli_client_test.sh SENSORDBD SENSORDB}
BIN=${2:?usage: cli_client_test.sh SENSORDBD SENSORDB}
source "$(dirname "$0")/cli_test_lib.sh"
unset SENSORDB_SERVER SENSORDB_CA_FILE SENSORDB_TOKEN_FILE SENSORDB_TOKEN SENSORDB_USER \
  SENSORDB_PASSWORD SENSORDB_NEW_PASSWORD SENSORDB_OLD_PASSWORD SENSORDB_TIMEOUT
PID=
cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- init and start ------------------------------------------------------------------------------
source "$(dirname "$0")/lib/sensordbd.sh"
# Small limits, so that imports take several Writes: the importer keeps each batch within
# max_write_points, and a batch whose frame would be too big is split.
sensordbd_init "$WORK/srv" --set limits.max_frame_bytes=65536 --set limits.max_write_points=1000 ||
  { fail "init"; exit 1; }
sensordbd_start "$WORK/srv" "$WORK/server.out" "$WORK/server.err" ||
  { fail "server did not start: $(cat "$WORK/server.err")"; exit 1; }
PID=$SENSORDBD_PID PORT=$CLIENT_PORT
CA=$WORK/srv/tls/ca.crt
ADMIN=$WORK/srv/bootstrap-admin.token
ALICE_PW='alice: correct horse battery'
ALICE_PW2='alice: a second long password'

# Every run's output is kept in $WORK/t (the transcript that must never hold a secret), then
# passed on. `cli` has no credentials of its own; `admin` adds the bootstrap token file.
mkdir "$WORK/t"
cli() {
  local o rc=0
  o=$(mktemp "$WORK/t/XXXXXX")
  timeout 60 "$BIN" --server "127.0.0.1:$PORT" --ca-file "$CA" "$@" </dev/null >"$o.out" 2>"$o.err" ||
    rc=$?
  cat "$o.out"
  cat "$o.err" >&2
  return $rc
}
admin() { cli --token-file "$ADMIN" "$@"; }
as_alice() { SENSORDB_PASSWORD=$1 cli --user alice "${@:2}"; }

# --- projects, import, queries -------------------------------------------------------------------
out=$(admin project create greenhouse --retention-days 30) || fail "project create"
[[ $out == "created project 'greenhouse' (id "*", retention 30 days)" ]] || fail "create: $out"
expect_eq "project list" "greenhouse,30" "$(admin project list -f csv | tail -n +2 | cut -d, -f1,3)"
admin project retention greenhouse 0 >/dev/null || fail "retention"
expect_eq "retention json" "0" "$(admin project list --json | json_get 'd[0]["retention_days"]')"

cat >"$WORK/in.lp" <<'LP'
# greenhouse readings
env,site=north,device=dev1 temp=21.5,hum=40i,door=true 1700000000
env,device=dev1 temp=22.25,hum=41i,door=F 1700000060
env,device=dev\ 2\,b temp=-3.5e-1 1700000010
LP
out=$(admin import -p greenhouse --precision s "$WORK/in.lp") || fail "import lp"
[[ $out == "imported 7 points into 4 series in "* ]] || fail "lp summary: $out"
cat >"$WORK/long.csv" <<'CSV'
timestamp,device,channel,value
2024-01-01T00:00:00Z,dev3,power,1.5
2024-01-01T00:00:00.25Z,dev3,power,NaN
1704067201000000000,dev3,power,-Inf
CSV
out=$(admin import -p greenhouse "$WORK/long.csv") || fail "import csv"
[[ $out == "imported 3 points into 1 series in "* ]] || fail "csv summary: $out"

expect_eq "raw csv" "device,channel,timestamp_ns,time,value
\"dev 2,b\",env.temp,1700000010000000000,2023-11-14T22:13:30Z,-0.35
dev1,env.door,1700000000000000000,2023-11-14T22:13:20Z,true
dev1,env.door,1700000060000000000,2023-11-14T22:14:20Z,false
dev1,env.hum,1700000000000000000,2023-11-14T22:13:20Z,40
dev1,env.hum,1700000060000000000,2023-11-14T22:14:20Z,41
dev1,env.temp,1700000000000000000,2023-11-14T22:13:20Z,21.5
dev1,env.temp,1700000060000000000,2023-11-14T22:14:20Z,22.25
dev3,power,1704067200000000000,2024-01-01T00:00:00Z,1.5
dev3,power,1704067200250000000,2024-01-01T00:00:00.25Z,NaN
dev3,power,1704067201000000000,2024-01-01T00:00:01Z,-Inf" "$(admin query -p greenhouse -f csv)"
expect_eq "raw limit" "2" "$(admin query -p greenhouse --csv --limit 2 | tail -n +2 | wc -l)"
latest=$(admin query -p greenhouse -d dev1 --latest --json)
expect_eq "latest json" "env.door False 1700000060000000000|env.hum 41 1700000060000000000|env.temp 22.25 1700000060000000000" \
  "$(json_get '"|".join(" ".join(str(r[k]) for k in ("channel", "value", "timestamp_ns")) for r in d)' <<<"$latest")"
expect_eq "agg every 1m" "bucket_start_ns,time,count,sum,mean,min,max,first,last
1699999980000000000,2023-11-14T22:13:00Z,2,21.15,10.575,-0.35,21.5,21.5,-0.35
1700000040000000000,2023-11-14T22:14:00Z,1,22.25,22.25,22.25,22.25,22.25,22.25" \
  "$(admin query -p greenhouse -c env.temp --agg count,sum,mean --agg min,max,first,last --every 1m -f csv)"
expect_eq "agg table" "bucket_start_ns      time                  count  mean
-------------------  --------------------  -----  ------
1699999980000000000  2023-11-14T22:13:00Z      2  10.575
1700000040000000000  2023-11-14T22:14:00Z      1   22.25" \
  "$(admin query -p greenhouse -c env.temp --agg count,mean --every 1m -f table | sed 's/ *$//')"
agg=$(admin query -p greenhouse -d dev1 --agg count,mean --per-series --start 0 --json)
expect_eq "agg per series json" "env.door 2 0.5|env.hum 2 40.5|env.temp 2 21.875" \
  "$(json_get '"|".join(" ".join(str(r[k]) for k in ("channel", "count", "mean")) for r in d)' <<<"$agg")"
count_points() { admin query -p greenhouse --agg count -f csv | tail -n1 | cut -d, -f3; }
expect_eq "points" "10" "$(count_points)"

# A bad line: nothing is sent, as in local mode.
printf 'env,device=dev9 temp=1 1\nenv,device=dev9 temp=2 2\nenv,site=x temp=3 3\n' >"$WORK/bad.lp"
expect_exit "bad lp" 1 admin import -p greenhouse --batch-points 1 "$WORK/bad.lp"
[[ $ERR == "sensordb: $WORK/bad.lp:3: missing tag 'device'"* ]] || fail "bad lp message: $ERR"
expect_eq "nothing applied" "10" "$(count_points)"

# 3000 points in batches of at most 1000 points; 1000 series with 200-byte names do not fit in
# one 64 KiB frame, so those batches go as several Writes.
python3 - "$WORK/bulk.lp" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        f.write(f"env,device={'d' * 200}{i % 1000} v={i} {1700000000 + i}\n")
PY
out=$(admin import -p bulk --precision s "$WORK/bulk.lp" 2>&1) || fail "bulk import: $out"
[[ $out == *"imported 3000 points into 1000 series in "* ]] || fail "bulk summary: $out"
expect_eq "bulk points" "3000,4498500" \
  "$(admin query -p bulk --agg count,sum -f csv | tail -n1 | cut -d, -f3,4)"

admin device register -p greenhouse logger-1 --model X1 --firmware 1.2.3 >/dev/null || fail "device"
admin channel register -p greenhouse -d logger-1 temperature --type float64 --unit degC >/dev/null ||
  fail "channel"
expect_eq "device list" "logger-1,X1,1.2.3" "$(admin device list -p greenhouse -f csv | grep logger-1)"
expect_eq "channel list" "logger-1,temperature,float64,degC" \
  "$(admin channel list -p greenhouse -d logger-1 --csv | tail -n1 | cut -d, -f1-4)"

# --- accounts, tokens, grants --------------------------------------------------------------------
expect_exit "password needs env or a terminal" 1 admin user create alice
[[ $ERR == *'set $SENSORDB_NEW_PASSWORD'* ]] || fail "no-password message: $ERR"
SENSORDB_NEW_PASSWORD=$ALICE_PW admin user create alice >/dev/null || fail "user create"
admin service-account create ingest >/dev/null || fail "service-account create"
admin user create reporter --service >/dev/null || fail "user create --service"
expect_eq "user list" "alice,user,false,false
ingest,service-account,false,false
reporter,service-account,false,false" \
  "$(admin user list -f csv | grep -E '^(alice|ingest|reporter),' | cut -d, -f1-4 | sort)"
[[ $(admin user list --json | json_get '[a["superuser"] for a in d if a["name"] == "bootstrap-admin"][0]') == True ]] ||
  fail "bootstrap-admin is not listed as superuser"

admin token issue ingest --out "$WORK/ingest.token" >"$WORK/issue.out" || fail "token issue --out"
[[ $(stat -c %a "$WORK/ingest.token") == 600 ]] || fail "token file mode $(stat -c %a "$WORK/ingest.token")"
INGEST=$(cat "$WORK/ingest.token")
[[ $INGEST == sdb_*_* ]] || fail "token file content is not a token"
expect_exit "--out never overwrites" 1 admin token issue ingest --out "$WORK/ingest.token"
[[ $ERR == *"never overwritten"* ]] || fail "overwrite message: $ERR"
expect_eq "one token for ingest" "1" "$(admin token list ingest -f csv | tail -n +2 | wc -l)"
# The one command that prints a secret: run outside the transcript.
PRINTED=$(timeout 60 "$BIN" --server "127.0.0.1:$PORT" --ca-file "$CA" --token-file "$ADMIN" \
  token issue reporter --expires 30d 2>"$WORK/issue.err" </dev/null) || fail "token issue"
[[ $PRINTED == sdb_*_* ]] || fail "token issue printed no token"
grep -q "shown only this once" "$WORK/issue.err" || fail "issue note: $(cat "$WORK/issue.err")"
expires=$(admin token list reporter --json | json_get 'd[0]["expires"]')
[[ $expires == 20* ]] || fail "no expiry listed: $expires"

admin grant set greenhouse ingest writer >/dev/null || fail "grant writer"
admin grant set greenhouse alice reader >/dev/null || fail "grant reader"
expect_eq "grant list" "alice,reader,bootstrap-admin
bootstrap-admin,owner,bootstrap-admin
ingest,writer,bootstrap-admin" "$(admin grant list greenhouse -f csv | tail -n +2 | cut -d, -f1,2,4)"
expect_exit "bad role" 2 admin grant set greenhouse alice boss

# The writer writes, with its token from a file and from the environment.
printf 'env,device=dev7 temp=1 1700000100\n' >"$WORK/w.lp"
cli --token-file "$WORK/ingest.token" import -p greenhouse --precision s "$WORK/w.lp" >/dev/null ||
  fail "writer import"
SENSORDB_TOKEN=$INGEST cli query -p greenhouse -d dev7 -f csv >"$WORK/q" || fail "token from env"
expect_eq "writer's point" "dev7,env.temp,1700000100000000000,2023-11-14T22:15:00Z,1" "$(tail -n1 "$WORK/q")"
# reporter has no grant: it sees no project.
expect_eq "reporter sees nothing" "" "$(SENSORDB_TOKEN=$PRINTED cli project list -f csv | tail -n +2)"

# The reader reads and is refused a write.
expect_eq "reader reads" "11" \
  "$(as_alice "$ALICE_PW" query -p greenhouse --agg count -f csv | tail -n1 | cut -d, -f3)"
expect_exit "reader write" 1 as_alice "$ALICE_PW" import -p greenhouse --precision s "$WORK/w.lp"
[[ $ERR == sensordb:*"reader"* ]] || fail "reader refusal message: $ERR"
expect_exit "reader drop" 1 as_alice "$ALICE_PW" project drop greenhouse --yes
expect_exit "wrong password" 1 as_alice "not alices password" project list
[[ $ERR == *"login as user 'alice'"*"refused"* && $ERR != *"not alices password"* ]] ||
  fail "wrong password message: $ERR"
# Own password change: the old one from $SENSORDB_PASSWORD (the login), the new from the env.
SENSORDB_NEW_PASSWORD=$ALICE_PW2 as_alice "$ALICE_PW" user password alice >/dev/null ||
  fail "own password change"
as_alice "$ALICE_PW2" project list >/dev/null || fail "login with the new password"
admin user disable alice >/dev/null || fail "disable"
expect_exit "disabled login" 1 as_alice "$ALICE_PW2" project list
[[ $ERR == *disabled* ]] || fail "disabled message: $ERR"
admin user enable alice >/dev/null || fail "enable"
as_alice "$ALICE_PW2" project list >/dev/null || fail "login after enable"

# Revocation.
id=$(admin token list ingest -f csv | tail -n1 | cut -d, -f1)
admin token revoke "$id" >/dev/null || fail "revoke"
expect_exit "revoked token" 1 cli --token-file "$WORK/ingest.token" project list
[[ $ERR == *"refused"*"revoked"* ]] || fail "revoked message: $ERR"
[[ -n $(admin token list ingest --json | json_get 'd[0]["revoked"]') ]] || fail "revoked not listed"
admin user delete reporter --yes >/dev/null || fail "delete"
expect_exit "deleted account's token" 1 env SENSORDB_TOKEN="$PRINTED" \
  timeout 60 "$BIN" --server "127.0.0.1:$PORT" --ca-file "$CA" project list

# --- keys and the audit log ----------------------------------------------------------------------
expect_eq "key rotate-project" "project greenhouse: new writes use data key version 2" \
  "$(admin key rotate-project -p greenhouse)"
expect_eq "key status" "[1, 2]" \
  "$(admin key status --json | json_get '[v["version"] for p in d["projects"] if p["project"] == "greenhouse" for v in p["versions"]]')"
# audit list --json prints one object per line.
json_lines() { python3 -c "import json,sys; print(' '.join(sorted(set(str(json.loads(l)['$1']) for l in sys.stdin))))"; }
actions=$(admin audit list --limit 0 --json | json_lines action)
for a in project-created user-created service-account-created token-issued token-revoked \
  grant-set account-disabled account-enabled account-deleted password-changed key-rotated login; do
  [[ " $actions " == *" $a "* ]] || fail "audit list lacks $a (has: $actions)"
done
projects=$(admin audit list --project greenhouse --limit 0 --json | json_lines project)
expect_eq "audit list --project" "greenhouse" "$projects"
expect_eq "audit table header" "seq  time                  action                   principal        outcome  project detail" \
  "$(admin audit list --limit 1 | head -n1 | sed 's/^ *//;s/ *$//')"
out=$(admin audit verify) || fail "audit verify: $out"
[[ $out == "audit log intact: "* ]] || fail "verify output: $out"
anchor=$(sed -n 's/^anchor //p' <<<"$out")
admin audit verify --anchor "$anchor" --json | json_get 'd["ok"]' | grep -q True || fail "anchored verify"
expect_exit "reader audit verify" 1 as_alice "$ALICE_PW2" audit verify

# --- storage maintenance: a superuser's, audited ---------------------------------------------------
expect_eq "flush" "flushed: every head chunk is sealed into blocks" "$(admin flush)"
expect_eq "compact" "compacted: expired blocks dropped, files compacted" "$(admin compact)"
expect_exit "reader flush" 1 as_alice "$ALICE_PW2" flush
[[ $ERR == sensordb:*"maintain-storage needs a superuser"* ]] || fail "reader flush message: $ERR"
expect_eq "maintenance audited" "2" "$(admin audit list --limit 0 --json |
  python3 -c "import json,sys; print(sum(json.loads(l)['action'] == 'storage-maintained' for l in sys.stdin))")"
expect_eq "points after compact" "11" \
  "$(admin query -p greenhouse --agg count -f csv | tail -n1 | cut -d, -f3)"

# --- what client mode refuses --------------------------------------------------------------------
for cmd in stats "key rotate-master" "key reencrypt -p greenhouse" \
  "backup list --backup-dir $WORK/b"; do
  # shellcheck disable=SC2086
  expect_exit "$cmd with --server" 1 admin $cmd
  [[ $ERR == "sensordb: \`sensordb ${cmd%% -*}\` works on a data directory only; it is not available with --server"* ]] ||
    fail "$cmd message: $ERR"
done
expect_exit "user without --server" 1 "$BIN" user list
[[ $ERR == *"needs --server"* ]] || fail "server-only message: $ERR"
expect_exit "both modes" 2 admin --data-dir "$WORK/db" project list
expect_exit "bad --server" 1 "$BIN" --server "127.0.0.1:99999" --token-file "$ADMIN" project list
[[ $ERR == *"the port must be a number from 1 to 65535"* ]] || fail "bad --server message: $ERR"
cp "$ADMIN" "$WORK/open.token"
chmod 644 "$WORK/open.token"
cli --token-file "$WORK/open.token" project list >/dev/null 2>"$WORK/t/open.err" || fail "0644 token file"
grep -q "may be read by other users (mode 644); chmod 600 it" "$WORK/t/open.err" ||
  fail "no warning for a 0644 token file: $(cat "$WORK/t/open.err")"
expect_exit "no credentials" 1 cli project list
[[ $ERR == *"no credentials"* ]] || fail "no-credentials message: $ERR"
expect_exit "no CA" 1 timeout 60 "$BIN" --server "127.0.0.1:$PORT" --token-file "$ADMIN" project list
[[ $ERR == *"TLS verification"* ]] || fail "no-CA message: $ERR"
# A token on the command line is refused and not echoed, whatever the spelling.
BOOT=$(cat "$ADMIN")
for args in "--token $BOOT project list" "--token=$BOOT project list" "--password $ALICE_PW2 project list" \
  "project list $BOOT"; do
  # shellcheck disable=SC2086
  expect_exit "secret in argv" 2 cli $args
  [[ $ERR != *"$BOOT"* && $ERR != *"$ALICE_PW2"* ]] || fail "argv secret echoed: $ERR"
done

# --- stop, then no secret anywhere ---------------------------------------------------------------
kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
  fail "still running 10 s after SIGTERM"
else
  rc=0
  wait "$PID" || rc=$?
  [[ $rc == 0 ]] || fail "exit status $rc after SIGTERM"
fi
PID=
for secret in "$BOOT" "$INGEST" "$PRINTED" "$ALICE_PW" "$ALICE_PW2"; do
  grep -rqF -- "$secret" "$WORK/t" "$WORK/issue.out" "$WORK/server.out" "$WORK/server.err" &&
    fail "a secret appears in an output or the server's log"
done

finish cli_client_test
