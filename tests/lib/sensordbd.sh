# Sourced by the shell tests and the benchmark scripts: a sensordbd of their own, every listener
# on an ephemeral loopback port (`sensordbd init --ephemeral-ports`), the ports read back from
# its `ready` line, and the settings a script asked for checked against what the server runs
# with. Needs $SENSORDBD (the binary).

# sensordbd_init DIR [--set KEY=VALUE]...: a fresh server directory with those settings
# (docs/SERVER.md), each checked to have taken (sensordbd_check); the init report goes to
# DIR.init.log. Returns 1, saying why on stderr, otherwise.
sensordbd_init() {
  local dir=$1
  shift
  timeout 60 "$SENSORDBD" init "$dir" --ephemeral-ports "$@" >"$dir.init.log" 2>&1 ||
    { echo "sensordbd init failed: $(cat "$dir.init.log")" >&2; return 1; }
  local settings=()
  while (($# >= 2)); do
    [[ $1 == --set ]] && settings+=("$2")
    shift 2
  done
  ((${#settings[@]} == 0)) || sensordbd_check "$dir" "${settings[@]}"
}

# sensordbd_check DIR KEY=VALUE...: 0 if the config of DIR, as the server reads it
# (`sensordbd --config FILE --print-config`), has each value; else 1, naming each difference.
sensordbd_check() {
  local dir=$1
  shift
  "$SENSORDBD" --config "$dir/sensordbd.toml" --print-config | python3 -c '
import sys, tomllib
config, bad = tomllib.loads(sys.stdin.read()), 0
for setting in sys.argv[1:]:
    key, _, want = setting.partition("=")
    node = config
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    got = {True: "true", False: "false"}.get(node, node) if isinstance(node, bool) else node
    if str(got) != want.strip("\"\x27"):
        print(f"sensordbd: {key} = {node!r} in effect, not {want} as asked", file=sys.stderr)
        bad = 1
sys.exit(bad)' "$@"
}

# sensordbd_expect_ready DURABILITY BACKUPS: 0 if the started server's ready line says it runs
# with that durability (sync, async) and backups (on, off); else 1, saying so on stderr.
sensordbd_expect_ready() {
  [[ $READY_DURABILITY == "$1" && $READY_BACKUPS == "$2" ]] && return 0
  echo "sensordbd runs durability=$READY_DURABILITY backups=$READY_BACKUPS," \
       "not durability=$1 backups=$2 as asked" >&2
  return 1
}

# sensordbd_start DIR OUT ERR: starts the server of DIR (stdout to OUT, stderr to ERR), waits
# up to 10 s for its `ready` line, then sets SENSORDBD_PID, the ports CLIENT_PORT,
# METRICS_PORT, DEVICE_PORT, MQTT_PORT and REST_PORT, and READY_DURABILITY (sync, async) and
# READY_BACKUPS (on, off) as the server says it runs. Returns 1 if it did not get ready.
sensordbd_start() {
  "$SENSORDBD" --config "$1/sensordbd.toml" >"$2" 2>"$3" &
  SENSORDBD_PID=$!
  local ready=
  for _ in $(seq 100); do
    ready=$(grep '^ready' "$2" 2>/dev/null) && break
    sleep 0.1
  done
  if [[ -z $ready ]]; then
    kill -9 "$SENSORDBD_PID" 2>/dev/null  # not left running by a script that gives up
    return 1
  fi
  ready_field() { sed -n "s/.*\\b$1=\\([a-z0-9]*\\).*/\\1/p" <<<"$ready"; }
  CLIENT_PORT=$(ready_field client_port)
  METRICS_PORT=$(ready_field metrics_port)
  DEVICE_PORT=$(ready_field device_port)
  MQTT_PORT=$(ready_field mqtt_port)
  REST_PORT=$(ready_field rest_port)
  READY_DURABILITY=$(ready_field durability)
  READY_BACKUPS=$(ready_field backups)
  [[ -n $CLIENT_PORT && $CLIENT_PORT != 0 ]]
}
