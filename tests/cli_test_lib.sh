# Shared by the CLI end-to-end tests (source it): a scratch directory, a fresh master key, and
# small assertion helpers that count failures instead of stopping at the first one.
# Expects BIN (the sensordb binary) to be set; sets WORK, DB, KEY, FAILURES.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DB=$WORK/db
KEY=$WORK/master.key
FAILURES=0
unset SENSORDB_PASSPHRASE SENSORDB_DATA_DIR SENSORDB_KEY_FILE SENSORDB_BACKUP_DIR
"$BIN" keygen "$KEY" >/dev/null

sdb() { "$BIN" --data-dir "$DB" --key-file "$KEY" "$@"; }

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
  if [[ "$2" != "$3" ]]; then
    fail "$1"
    diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2 || true
  fi
}

# expect_exit NAME CODE COMMAND... : runs COMMAND, checks its exit code, keeps stderr in $ERR.
expect_exit() {
  local name=$1 code=$2 rc=0
  shift 2
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  ERR=$(cat "$WORK/err")
  [[ $rc == "$code" ]] || fail "$name: exit $rc, expected $code (stderr: $ERR)"
}

json_get() {  # json_get EXPR < json : evaluates EXPR on the parsed document `d`
  python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# Ends the test: exit 1 with a count if anything failed.
finish() {
  if ((FAILURES > 0)); then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "$1: all checks passed"
}
