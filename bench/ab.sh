#!/usr/bin/env bash
# A/B of two server binaries (A, say the previous commit's, and B), taking
# turns on the same machine in the same minutes, each on a fresh SQLite
# database: code-only validations closed loop (CONCURRENCY in flight), then
# at a fixed RATE open loop, alone and beside FLOOD loops that send wrong
# passwords for users of their own (one Argon2id evaluation each, on any
# version): do code checks keep their latency beside a password flood?
#
#   bench/ab.sh A_BIN B_BIN            # e.g. an older build, then this one
#   ROUNDS=1 DURATION=5s bench/ab.sh A_BIN B_BIN
#
# The bench binary is this tree's (BENCH_BIN, else target/release). Prints
# the table of every run, labelled "A ..." and "B ...".
set -euo pipefail
cd "$(dirname "$0")/.."

A_BIN=$(realpath "$1")
B_BIN=$(realpath "$2")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
USERS=${USERS:-2000}
RATE=${RATE:-1000}
CONCURRENCY=${CONCURRENCY:-64}
FLOOD=${FLOOD:-16}
BENCH=${BENCH_BIN:-$PWD/target/release/ichido-bench}
WORK=$(mktemp -d /tmp/ichido-ab.XXXXXX)
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
echo "work directory: $WORK"

PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT

# start NAME BIN PORT: a fresh SQLite server whose users never lock (the
# flood's wrong passwords would lock them and end their hashing).
start() {
  local dir=$WORK/$1
  mkdir -p "$dir"
  cat >"$dir/ichido.toml" <<TOML
[policy]
max_failures = 1000000000
[rate_limit]
per_second = 0
TOML
  "$2" --config "$dir/ichido.toml" serve --listen "127.0.0.1:$3" --data-dir "$dir/data" \
    >"$dir/stdout" 2>"$dir/stderr" &
  PID=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$3/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$dir/stderr" >&2
  exit 1
}

for round in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    bin=A_BIN
    [ "$side" = B ] && bin=B_BIN
    start "$side-$round" "${!bin}" 18090
    key=$(grep -o 'ichido_[A-Za-z0-9_-]*' "$WORK/$side-$round/stdout" | head -1)
    users=$WORK/users-$side-$round.json
    "$BENCH" enroll --url http://127.0.0.1:18090 --admin-key "$key" --users "$USERS" --out "$users" >/dev/null 2>&1
    common=(http --url http://127.0.0.1:18090 --admin-key "$key" --users-file "$users" --server-pid "$PID"
      --duration "$DURATION" --warmup "$WARMUP" --results "$RESULTS")
    "$BENCH" "${common[@]}" --concurrency "$CONCURRENCY" --label "$side, closed" >/dev/null
    common+=(--rate "$RATE" --concurrency 1024)
    "$BENCH" "${common[@]}" --label "$side, open $RATE/s" >/dev/null
    "$BENCH" "${common[@]}" --label "$side, open $RATE/s, password flood $FLOOD" \
      --password-flood "$FLOOD" | grep 'password flood' | sed "s/^/$side round $round: /"
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
  done
done
echo
"$BENCH" table --results "$RESULTS"
