#!/usr/bin/env bash
# The offline firmware tools with the real `sensordb` CLI (docs/OTA.md, docs/CLI.md "Firmware"):
# release keys are 0600 and never overwritten; a root of 2 of 3 keys is written unsigned and
# verifies only once two of its keys signed it; a manifest of an image verifies only with two
# signatures of that root's keys, not with one, not twice by one key, not with keys of another
# root; a changed image byte or length is named; a rotated root verifies only with the old
# threshold and its own; `show --json` reports the fields. Then the server's store on a data
# directory: the project's freshness key, a root and a release accepted only when they verify
# as a device would, a changed image refused with nothing kept, the release listed, counted by
# key status, removed.
# Usage: cli_firmware_test.sh SENSORDB
set -uo pipefail

BIN=${1:?usage: cli_firmware_test.sh SENSORDB}
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
source "$(dirname "$0")/cli_test_lib.sh"
cd "$WORK" || exit 1
fw() { "$BIN" firmware "$@"; }

# --- keys ------------------------------------------------------------------------------------------
for k in a b c d fresh; do
  expect_exit "keygen $k" 0 fw keygen "$k.key"
done
[[ $(stat -c %a a.key) == 600 ]] || fail "a key file is not 0600"
[[ $(stat -c %s a.key) == 32 ]] || fail "a key file does not hold a 32-byte seed"
grep -qE '^[0-9a-f]{64}$' a.key.pub || fail "a.key.pub is not one line of 64 hex digits"
before=$(sha256sum a.key)
expect_exit "keygen refuses to overwrite" 1 fw keygen a.key
[[ $ERR == *"already exists"* ]] || fail "overwrite refusal does not say why: $ERR"
expect_eq "the refused keygen left the key" "$before" "$(sha256sum a.key)"

# --- root version 1: 2 of a, b, c --------------------------------------------------------------
expect_exit "trust init" 0 fw trust init -p greenhouse --key a.key.pub --key b.key.pub \
  --key c.key.pub -t 2 --freshness-key fresh.key.pub --expires 365d -o root1
expect_exit "an unsigned root does not verify" 1 fw verify --root root1 root1
[[ $ERR == *below-threshold* ]] || fail "unsigned root: $ERR"
expect_exit "sign root with a" 0 fw sign --key a.key root1
expect_exit "one signature is below the threshold" 1 fw verify --root root1 root1
expect_exit "sign root with b" 0 fw sign --key b.key root1
expect_exit "root 1 verifies with 2 of 3" 0 fw verify --root root1 root1
expect_exit "threshold above n is refused" 1 fw trust init -p greenhouse --key a.key.pub \
  -t 2 --freshness-key fresh.key.pub -o bad
[[ $ERR == *"--threshold"* ]] || fail "threshold refusal does not name the option: $ERR"
[[ ! -e bad ]] || fail "a refused root was written"
expect_exit "the freshness key may not be a release key" 1 fw trust init -p greenhouse \
  --key a.key.pub --key fresh.key.pub -t 1 --freshness-key fresh.key.pub -o bad
[[ ! -e bad ]] || fail "a root with the freshness key as a release key was written"

# --- a manifest ------------------------------------------------------------------------------------
head -c 300000 /dev/urandom >fw.bin
expect_exit "manifest" 0 fw manifest --root root1 --image fw.bin --model DL-200 --version 2.1.0 \
  --security-version 4 --expires 180d --notes "fixes the RS-485 timeout" -o fw.sdbm
expect_exit "sign manifest with c" 0 fw sign --key c.key fw.sdbm
expect_exit "sign manifest with c again" 0 fw sign --key c.key fw.sdbm
expect_exit "one key twice is one signature" 1 fw verify --root root1 fw.sdbm
[[ $ERR == *below-threshold* ]] || fail "one key twice: $ERR"
fw show --json fw.sdbm >show.json 2>&1 || fail "show: $(cat show.json)"
expect_eq "one signature kept per key" 1 "$(json_get 'len(d["signed_by"].split())' <show.json)"
expect_exit "sign manifest with d (not in the root)" 0 fw sign --key d.key fw.sdbm
expect_exit "a key outside the root does not count" 1 fw verify --root root1 fw.sdbm
expect_exit "sign manifest with a" 0 fw sign --key a.key fw.sdbm
expect_exit "manifest verifies with its image" 0 fw verify --root root1 --image fw.bin fw.sdbm
fw show --json fw.sdbm >show.json 2>&1 || fail "show: $(cat show.json)"
expect_eq "show: kind" manifest "$(json_get 'd["kind"]' <show.json)"
expect_eq "show: model" DL-200 "$(json_get 'd["hardware_model"]' <show.json)"
expect_eq "show: security version" 4 "$(json_get 'd["security_version"]' <show.json)"
expect_eq "show: length" 300000 "$(json_get 'd["image_length"]' <show.json)"
expect_eq "show: hash" "$(sha256sum fw.bin | cut -d' ' -f1)" "$(json_get 'd["image_sha256"]' <show.json)"
expect_eq "show: notes" "fixes the RS-485 timeout" "$(json_get 'd["notes"]' <show.json)"

cp fw.bin flipped.bin
printf '\x5a' | dd of=flipped.bin bs=1 seek=1234 conv=notrunc status=none
cmp -s fw.bin flipped.bin && printf '\xa5' | dd of=flipped.bin bs=1 seek=1234 conv=notrunc status=none
expect_exit "a changed image byte" 1 fw verify --root root1 --image flipped.bin fw.sdbm
[[ $ERR == *hash-mismatch* ]] || fail "flipped byte: $ERR"
head -c 299999 fw.bin >short.bin
expect_exit "a shorter image" 1 fw verify --root root1 --image short.bin fw.sdbm
[[ $ERR == *length-mismatch* ]] || fail "short image: $ERR"

# A manifest whose body was changed after signing (security version 4 -> 5 in place).
python3 - fw.sdbm forged.sdbm <<'EOF' || fail "could not forge"
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
i = data.find(b'2.1.0') + len(b'2.1.0')
assert data[i] == 4
data[i] = 5
open(sys.argv[2], 'wb').write(data)
EOF
expect_exit "a changed manifest" 1 fw verify --root root1 forged.sdbm
[[ $ERR == *bad-signature* ]] || fail "forged manifest: $ERR"

# An anchor nobody signed proves nothing, whatever it lists.
expect_exit "evil root" 0 fw trust init -p greenhouse --key d.key.pub -t 1 \
  --freshness-key fresh.key.pub -o evil-root
expect_exit "manifest under the evil root" 0 fw manifest --root evil-root --image fw.bin \
  --model DL-200 --version 9.9.9 --security-version 99 -o evil.sdbm
expect_exit "sign it with d" 0 fw sign --key d.key evil.sdbm
expect_exit "an unsigned anchor is refused" 1 fw verify --root evil-root evil.sdbm
[[ $ERR == *"not signed by 1 of its own keys"*below-threshold* ]] || fail "unsigned anchor: $ERR"

# Files: new ones never replace old ones; a prepared symlink is not followed.
before=$(sha256sum root1)
expect_exit "trust init over a signed root" 1 fw trust init -p greenhouse --key a.key.pub \
  -t 1 --freshness-key fresh.key.pub -o root1
[[ $ERR == *"already exists"* ]] || fail "overwrite refusal: $ERR"
expect_eq "root1 unchanged" "$before" "$(sha256sum root1)"
echo "precious" >victim.txt
ln -s victim.txt fw.sdbm.tmp
expect_exit "sign with a symlink at FILE.tmp" 0 fw sign --key b.key fw.sdbm
expect_eq "the symlink's target is untouched" precious "$(cat victim.txt)"
[[ -L fw.sdbm.tmp && ! -L fw.sdbm ]] || fail "the symlink was moved into place"
ls fw.sdbm.?????? >/dev/null 2>&1 && fail "a temporary file was left behind"

# What show prints cannot be forged by the notes.
expect_exit "manifest with a forged line in its notes" 0 fw manifest --root root1 --image fw.bin \
  --model DL-200 --version 2.1.1 --security-version 4 -o notes.sdbm \
  --notes $'ok\nsigned_by 0123456789abcdef\e[8m'
fw show notes.sdbm >show.txt 2>&1 || fail "show: $(cat show.txt)"
expect_eq "one signed_by line" 1 "$(grep -c '^signed_by' show.txt)"
grep -q $'\e' show.txt && fail "an escape character reached the terminal"
grep -qF 'ok\x0asigned_by' show.txt || fail "notes not shown escaped: $(cat show.txt)"

# New files follow the umask; show --json is valid JSON whatever bytes the notes hold.
(umask 077 && fw trust init -p greenhouse --key a.key.pub -t 1 --freshness-key fresh.key.pub \
  -o private-root >/dev/null) || fail "trust init under umask 077"
expect_eq "a new file follows the umask" 600 "$(stat -c %a private-root)"
expect_exit "manifest with a byte that is not UTF-8" 0 fw manifest --root root1 --image fw.bin \
  --model DL-200 --version 2.1.2 --security-version 4 -o binary.sdbm --notes $'\xff\xfe'
fw show --json binary.sdbm >show.json 2>&1 || fail "show: $(cat show.json)"
expect_eq "notes escaped in JSON" '\xff\xfe' "$(json_get 'd["notes"]' <show.json)"

# A freshness statement (the fuzz seed, signed by the fixture's online key) is shown, never signed.
cp "$SRC_DIR/fuzz/corpus/ota_metadata_fuzz/seed-freshness" stmt.sdbf
fw show --json stmt.sdbf >show.json 2>&1 || fail "show statement: $(cat show.json)"
expect_eq "show: a statement" freshness "$(json_get 'd["kind"]' <show.json)"
expect_exit "a release key does not sign a freshness statement" 1 fw sign --key a.key stmt.sdbf
[[ $ERR == *"online key"* ]] || fail "statement signing refusal: $ERR"

# --- key files -------------------------------------------------------------------------------------
chmod 644 c.key
expect_exit "a key readable by others is refused" 1 fw sign --key c.key fw.sdbm
[[ $ERR == *"chmod 600"* ]] || fail "mode refusal does not say what to do: $ERR"
chmod 600 c.key

# --- rotation: root 2 replaces c with d -----------------------------------------------------------
expect_exit "trust rotate" 0 fw trust rotate --from root1 --key a.key.pub --key b.key.pub \
  --key d.key.pub -t 2 --freshness-key fresh.key.pub -o root2
fw show --json root2 >show.json 2>&1
expect_eq "rotated root is version 2" 2 "$(json_get 'd["version"]' <show.json)"
expect_exit "sign root 2 with d" 0 fw sign --key d.key root2
expect_exit "sign root 2 with b" 0 fw sign --key b.key root2
expect_exit "root 2 verifies against itself" 0 fw verify --root root2 root2
cp root2 root2-new-only
expect_exit "sign root 2 copy with c (old only)" 0 fw sign --key c.key root2
expect_exit "root 2 with b, c, d verifies against root 1" 0 fw verify --root root1 root2
expect_exit "root 2 signed by b and d only lacks root 1's threshold" 1 \
  fw verify --root root1 root2-new-only
[[ $ERR == *"root version 1"*below-threshold* ]] || fail "rotation without old threshold: $ERR"
expect_exit "rotate again to root 3" 0 fw trust rotate --from root2 --key a.key.pub \
  --key b.key.pub -t 1 --freshness-key fresh.key.pub -o root3
expect_exit "a root that skips a version" 1 fw verify --root root1 root3
[[ $ERR == *"accepts only version 2"* ]] || fail "skipped version: $ERR"
expect_exit "root 1 does not verify against root 2" 1 fw verify --root root2 root1
expect_exit "root 1's manifest names root 1" 1 fw verify --root root2 fw.sdbm
[[ $ERR == *wrong-root* ]] || fail "manifest of another root: $ERR"

# Nothing above touched a data directory or needed one.
[[ ! -e $DB ]] || fail "a data directory was created"

# --- the server's store, on a data directory (docs/CLI.md "Firmware on the server") -------------
sdb project create greenhouse >/dev/null || fail "project create"
before=$(sha256sum fresh.key.pub)
expect_exit "no freshness key file is written over" 1 sdb firmware freshness-key -p greenhouse \
  -o fresh.key.pub
[[ $ERR == *"exists"* ]] || fail "freshness key over a file: $ERR"
expect_eq "the refused freshness-key left the file" "$before" "$(sha256sum fresh.key.pub)"
expect_exit "freshness key" 0 sdb firmware freshness-key -p greenhouse -o server-fresh.pub
expect_eq "the freshness key is stable" "$(cat server-fresh.pub)" \
  "$(sdb firmware freshness-key -p greenhouse 2>&1)"
expect_exit "a root naming another freshness key is refused" 1 \
  sdb firmware trust upload -p greenhouse root1
[[ $ERR == *"freshness key"* ]] || fail "foreign freshness key: $ERR"
expect_exit "server root" 0 fw trust init -p greenhouse --key a.key.pub --key b.key.pub \
  --key c.key.pub -t 2 --freshness-key server-fresh.pub -o sroot1
expect_exit "sign server root with a" 0 fw sign --key a.key sroot1
expect_exit "a root signed once is refused" 1 sdb firmware trust upload -p greenhouse sroot1
[[ $ERR == *below-threshold* ]] || fail "root below threshold: $ERR"
expect_exit "sign server root with c" 0 fw sign --key c.key sroot1
expect_exit "trust upload" 0 sdb firmware trust upload -p greenhouse sroot1
[[ $(cat out) == *"root version 1"* ]] || fail "trust upload says: $(cat out)"
expect_exit "manifest for the server root" 0 fw manifest --root sroot1 --image fw.bin \
  --model DL-200 --version 2.1.0 --security-version 4 --expires 30d -o sfw.sdbm
expect_exit "sign server manifest with b" 0 fw sign --key b.key sfw.sdbm
expect_exit "one signature is refused" 1 sdb firmware upload -p greenhouse --image fw.bin sfw.sdbm
[[ $ERR == *below-threshold*"nothing was kept"* ]] || fail "upload below threshold: $ERR"
expect_exit "sign server manifest with a" 0 fw sign --key a.key sfw.sdbm
python3 -c "import sys; b = bytearray(open('fw.bin', 'rb').read()); b[1000] ^= 1; open('changed.bin', 'wb').write(b)"
expect_exit "a changed image byte is refused" 1 \
  sdb firmware upload -p greenhouse --image changed.bin sfw.sdbm
[[ $ERR == *hash-mismatch* ]] || fail "changed image: $ERR"
expect_exit "nothing of a refused upload is listed" 0 sdb firmware releases -p greenhouse --json
expect_eq "no release after refusals" "[]" "$(cat out)"
expect_exit "upload" 0 sdb firmware upload -p greenhouse --image fw.bin sfw.sdbm
[[ $(cat out) == *"DL-200 2.1.0 (security version 4)"* ]] || fail "upload says: $(cat out)"
expect_exit "the same release twice" 1 sdb firmware upload -p greenhouse --image fw.bin sfw.sdbm
[[ $ERR == *"stored already"* ]] || fail "duplicate upload: $ERR"
sdb firmware releases -p greenhouse --json >rel.json 2>&1
expect_eq "one release listed" 1 "$(json_get 'len(d)' <rel.json)"
expect_eq "its security version" 4 "$(json_get 'd[0]["security_version"]' <rel.json)"
expect_eq "its length" "$(stat -c %s fw.bin)" "$(json_get 'd[0]["image_length"]' <rel.json)"
id=$(json_get 'd[0]["id"]' <rel.json)
sdb key status --json >keys.json 2>&1
expect_eq "key status counts the release's records" 1 \
  "$(json_get 'int(sum(v["file_records"] for p in d["projects"] for v in p["versions"]) > 1)' <keys.json)"
# Rollouts: offered to named devices; a release a live rollout offers cannot be removed.
expect_exit "a rollout of a release that does not exist" 1 \
  sdb firmware rollout create -p greenhouse 00000000000000ff -d dl-1
expect_exit "rollout create" 0 sdb firmware rollout create -p greenhouse "$id" -d dl-2 -d dl-1
[[ $(cat out) == *"rollout 1 of release $id to 2 device(s)"* ]] || fail "rollout says: $(cat out)"
expect_exit "rollout pause" 0 sdb firmware rollout pause -p greenhouse 1
expect_exit "rollout list" 0 sdb firmware rollout list -p greenhouse --json
expect_eq "the rollout's state" paused "$(json_get 'd[0]["state"]' <out)"
expect_eq "its devices, sorted" "['dl-1', 'dl-2']" "$(json_get 'd[0]["devices"]' <out)"
expect_exit "a paused rollout's release is kept" 1 sdb firmware remove -p greenhouse "$id"
[[ $ERR == *"offered by rollout 1"* ]] || fail "remove under a rollout: $ERR"
expect_exit "rollout cancel" 0 sdb firmware rollout cancel -p greenhouse 1
expect_exit "a cancelled rollout stays cancelled" 1 sdb firmware rollout resume -p greenhouse 1
expect_exit "a malformed rollout number" 1 sdb firmware rollout pause -p greenhouse x1
expect_exit "rollout in waves" 0 sdb firmware rollout create -p greenhouse "$id" -d dl-1 -d dl-2 \
  --waves 1,100 --soak 0
expect_exit "rollout list, waves" 0 sdb firmware rollout list -p greenhouse --json
expect_eq "no soak: every wave open" "[1, 100] 2" \
  "$(json_get 'str(d[1]["waves"]) + " " + str(d[1]["wave"])' <out)"
expect_exit "a soak without a unit (nanoseconds)" 1 sdb firmware rollout create -p greenhouse \
  "$id" -d dl-1 --soak 3600
[[ $ERR == *"with a unit"* ]] || fail "bare soak: $ERR"
expect_exit "a threshold above 100" 1 sdb firmware rollout create -p greenhouse "$id" -d dl-1 \
  --failure-threshold 101
expect_exit "device reports need the server" 1 sdb firmware devices -p greenhouse
[[ $ERR == *"--server"* ]] || fail "devices offline: $ERR"
expect_exit "rollout status offline" 0 sdb firmware rollout status -p greenhouse 2
[[ $(cat out) == *"no device reports"* ]] || fail "status offline says: $(cat out)"
expect_exit "cancel the waves" 0 sdb firmware rollout cancel -p greenhouse 2
expect_exit "remove" 0 sdb firmware remove -p greenhouse "$id"
expect_exit "remove again" 1 sdb firmware remove -p greenhouse "$id"
expect_exit "nothing listed after remove" 0 sdb firmware releases -p greenhouse --json
expect_eq "no release after remove" "[]" "$(cat out)"
expect_exit "a malformed id" 1 sdb firmware remove -p greenhouse 0x12
finish "cli firmware"
