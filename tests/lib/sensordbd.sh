# Sourced by the shell tests: a sensordbd of their own, every listener on an ephemeral loopback
# port (`sensordbd init --ephemeral-ports`), the ports read back from its `ready` line. Needs
# $SENSORDBD (the binary).

# sensordbd_init DIR: a fresh server directory; the init report goes to DIR.init.log.
sensordbd_init() {
  timeout 60 "$SENSORDBD" init "$1" --ephemeral-ports >"$1.init.log"
}

# sensordbd_start DIR OUT ERR: starts the server of DIR (stdout to OUT, stderr to ERR), waits
# up to 10 s for its `ready` line, then sets SENSORDBD_PID and the ports CLIENT_PORT,
# METRICS_PORT, DEVICE_PORT, MQTT_PORT and REST_PORT. Returns 1 if it did not get ready.
sensordbd_start() {
  "$SENSORDBD" --config "$1/sensordbd.toml" >"$2" 2>"$3" &
  SENSORDBD_PID=$!
  local ready=
  for _ in $(seq 100); do
    ready=$(grep '^ready' "$2" 2>/dev/null) && break
    sleep 0.1
  done
  [[ -n $ready ]] || return 1
  port_of() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$ready"; }
  CLIENT_PORT=$(port_of client_port)
  METRICS_PORT=$(port_of metrics_port)
  DEVICE_PORT=$(port_of device_port)
  MQTT_PORT=$(port_of mqtt_port)
  REST_PORT=$(port_of rest_port)
  [[ -n $CLIENT_PORT && $CLIENT_PORT != 0 ]]
}
