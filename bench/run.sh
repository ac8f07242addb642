#!/usr/bin/env bash
# Reproduces the table of docs/performance.md: Ichido on SQLite (durable
# commits), over HTTP and RADIUS, closed and open loop; on PostgreSQL with
# one and two server processes; privacyIDEA side by side on the same users,
# seeds and workload. Ends with the ratio line.
#
#   bench/run.sh                      # everything, 3 runs of each scenario
#   RUNS=1 DURATION=5s SKIP_PRIVACYIDEA=1 RSS_TOKENS=0 bench/run.sh   # quicker
#
# Everything listens on 127.0.0.1 only. Every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
USERS=${USERS:-2000}
CONCURRENCY=${CONCURRENCY:-64}
RATE=${RATE:-1000}
WRONG=${WRONG:-0.1}
FLOOD=${FLOOD:-16}
RSS_TOKENS=${RSS_TOKENS:-100000}
SKIP_PRIVACYIDEA=${SKIP_PRIVACYIDEA:-0}
SKIP_POSTGRES=${SKIP_POSTGRES:-0}
PG_URL=${ICHIDO_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
# Before each scenario, wait (at most QUIET_WAIT seconds) until the other
# processes of the machine use less than QUIET_BUSY percent of its CPU.
QUIET_BUSY=${QUIET_BUSY:-25}
QUIET_WAIT=${QUIET_WAIT:-180}
WORK=$(realpath -m "${BENCH_DIR:-$(mktemp -d /tmp/ichido-bench.XXXXXX)}")
PI_DIR=${PI_DIR:-$WORK/privacyidea}
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
NOTES=$WORK/notes.txt
: >"$RESULTS"
: >"$NOTES"
RADIUS_SECRET=bench-radius-shared-secret
export BENCH_RADIUS_SECRET=$RADIUS_SECRET

echo "work directory: $WORK"
# BENCH_ICHIDO_BIN and BENCH_BIN name binaries built elsewhere; else build here.
if [ -z "${BENCH_ICHIDO_BIN:-}" ] || [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release -q -p ichido-server -p ichido-bench
fi
BIN=${BENCH_ICHIDO_BIN:-$PWD/target/release/ichido}
BENCH=${BENCH_BIN:-$PWD/target/release/ichido-bench}

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$PI_DIR/gunicorn.pid" ]; then kill "$(cat "$PI_DIR/gunicorn.pid")" 2>/dev/null || true; fi
}
trap cleanup EXIT

note() { echo "$*" | tee -a "$NOTES"; }

# Percent of the CPU busy over one second, everything included.
busy_percent() {
  local a b
  read -r -a a < <(head -1 /proc/stat)
  sleep 3
  read -r -a b < <(head -1 /proc/stat)
  local idle=$(((b[4] + b[5]) - (a[4] + a[5])))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $((100 * (total - idle) / (total > 0 ? total : 1)))
}

quiet() {
  local waited=0 busy
  busy=$(busy_percent)
  while [ "$busy" -gt "$QUIET_BUSY" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
    sleep 10
    waited=$((waited + 11))
    busy=$(busy_percent)
  done
  note "[$1] machine before the runs: ${busy}% CPU busy (waited ${waited}s), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# start_server NAME PORT RADIUS_PORT [extra serve flags...]; sets SERVER_PID.
start_server() {
  local name=$1 port=$2 radius=$3
  shift 3
  local dir=$WORK/$name
  mkdir -p "$dir"
  # max_failures: the password flood's users must never lock (the measured
  # load sends at most 3 wrong codes in a row, so it never reaches any limit).
  cat >"$dir/ichido.toml" <<TOML
[policy]
max_failures = 1000000000
[rate_limit]
per_second = 0
[radius]
listen = "127.0.0.1:$radius"
[[radius.clients]]
name = "bench"
address = "127.0.0.1"
secret = "$RADIUS_SECRET"
mode = "otp"
rate_per_second = 0
TOML
  "$BIN" --config "$dir/ichido.toml" serve --listen "127.0.0.1:$port" "$@" >"$dir/stdout" 2>"$dir/stderr" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "ichido ($name) did not start:" >&2
  cat "$dir/stderr" >&2
  exit 1
}

admin_key() { grep -o 'ichido_[A-Za-z0-9_-]*' "$WORK/$1/stdout" | head -1; }
rss_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# load LABEL RUNS SUBCOMMAND ARGS...
load() {
  local label=$1 runs=$2
  shift 2
  quiet "$label"
  for i in $(seq 1 "$runs"); do
    "$BENCH" "$@" --label "$label" --duration "$DURATION" --warmup "$WARMUP" \
      --wrong-ratio "$WRONG" --results "$RESULTS"
  done
}

note "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
note "$("$BENCH" fsync --dir "$WORK" --count 2000)"
note "$(python3 bench/sqlite_commits.py "$WORK/commits.db" | sed 's/^/SQLite alone, /')"
rm -f "$WORK"/commits.db*

# --- SQLite, durable (synchronous = FULL) -----------------------------------
start_server sqlite 18080 18120 --data-dir "$WORK/sqlite/data"
SQLITE_PID=$SERVER_PID
sleep 1
note "idle RSS, SQLite, after start: $(rss_mib "$SQLITE_PID") MiB"
KEY=$(admin_key sqlite)
U=$WORK/users-sqlite.json
"$BENCH" enroll --url http://127.0.0.1:18080 --admin-key "$KEY" --users "$USERS" --out "$U"
HTTP=(http --url http://127.0.0.1:18080 --admin-key "$KEY" --users-file "$U" --server-pid "$SQLITE_PID")
load "HTTP, SQLite full, closed" "$RUNS" "${HTTP[@]}" --concurrency "$CONCURRENCY"
load "HTTP, SQLite full, open $RATE/s" "$RUNS" "${HTTP[@]}" --rate "$RATE" --concurrency 1024
# The same code checks beside a flood of wrong passwords (one Argon2id each):
# their latency should barely move, since Argon2id has threads of its own.
load "HTTP, SQLite full, open $RATE/s, password flood" "$RUNS" "${HTTP[@]}" --rate "$RATE" \
  --concurrency 1024 --password-flood "$FLOOD"
RAD=(radius --addr 127.0.0.1:18120 --users-file "$U" --server-pid "$SQLITE_PID")
load "RADIUS, SQLite full, closed" "$RUNS" "${RAD[@]}" --concurrency "$CONCURRENCY"
load "RADIUS, SQLite full, open $RATE/s" "$RUNS" "${RAD[@]}" --rate "$RATE" --concurrency 200
note "RSS after the SQLite runs: $(rss_mib "$SQLITE_PID") MiB"

# --- SQLite, synchronous = NORMAL (for comparison) ---------------------------
ICHIDO_DURABILITY=normal start_server sqlite-normal 18081 18121 --data-dir "$WORK/sqlite-normal/data"
NKEY=$(admin_key sqlite-normal)
NU=$WORK/users-sqlite-normal.json
"$BENCH" enroll --url http://127.0.0.1:18081 --admin-key "$NKEY" --users "$USERS" --out "$NU"
load "HTTP, SQLite normal, closed" "$RUNS" http --url http://127.0.0.1:18081 --admin-key "$NKEY" \
  --users-file "$NU" --server-pid "$SERVER_PID" --concurrency "$CONCURRENCY"
kill "$SERVER_PID"

# --- PostgreSQL: one node, then two nodes on one database --------------------
if [ "$SKIP_POSTGRES" != 1 ]; then
  DB=ichido_bench_$(date +%s)
  psql -q "$PG_URL" -c "CREATE DATABASE $DB" >/dev/null
  PG_DB_URL=${PG_URL%/*}/$DB
  start_server pg1 18082 18122 --data-dir "$WORK/pg/data" --database-url "$PG_DB_URL"
  PG1=$SERVER_PID
  PKEY=$(admin_key pg1)
  PU=$WORK/users-pg.json
  "$BENCH" enroll --url http://127.0.0.1:18082 --admin-key "$PKEY" --users "$USERS" --out "$PU"
  load "HTTP, PostgreSQL, 1 node, closed" "$RUNS" http --url http://127.0.0.1:18082 --admin-key "$PKEY" \
    --users-file "$PU" --server-pid "$PG1" --concurrency "$CONCURRENCY"
  # WAL written per validation, from a short run without warm-up.
  lsn() { psql -At "$PG_URL" -c "SELECT pg_current_wal_lsn()"; }
  before=$(lsn)
  "$BENCH" http --url http://127.0.0.1:18082 --admin-key "$PKEY" --users-file "$PU" --duration 5s --warmup 0s \
    --concurrency "$CONCURRENCY" --label wal --results "$WORK/wal.jsonl" >/dev/null
  after=$(lsn)
  wal=$(psql -At "$PG_URL" -c "SELECT pg_wal_lsn_diff('$after', '$before')")
  requests=$(grep -o '"requests":[0-9]*' "$WORK/wal.jsonl" | head -1 | cut -d: -f2)
  note "PostgreSQL: $(awk -v w="$wal" -v r="$requests" 'BEGIN { printf "%.0f", w / r }') WAL bytes per validation ($requests requests)"
  start_server pg2 18083 18123 --data-dir "$WORK/pg/data" --database-url "$PG_DB_URL"
  PG2=$SERVER_PID
  load "HTTP, PostgreSQL, 2 nodes, closed, 5% replayed" "$RUNS" http --url http://127.0.0.1:18082 \
    --url http://127.0.0.1:18083 --admin-key "$PKEY" --users-file "$PU" --server-pid "$PG1" --server-pid "$PG2" \
    --concurrency "$CONCURRENCY" --replay-ratio 0.05
  kill "$PG1" "$PG2"
  wait "$PG1" "$PG2" 2>/dev/null || true
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
fi

# --- privacyIDEA side by side -------------------------------------------------
RATIO_ARGS=()
if [ "$SKIP_PRIVACYIDEA" != 1 ]; then
  PI_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  export BENCH_PI_PASSWORD=$PI_PASSWORD
  if bench/privacyidea/setup.sh "$PI_DIR" 18500 "$PI_PASSWORD" | tee -a "$NOTES"; then
    PI_PID=$(cat "$PI_DIR/gunicorn.pid")
    PIU=$WORK/users-privacyidea.json
    "$BENCH" privacyidea-setup --url http://127.0.0.1:18500 --users-file "$U" \
      --passwd-file "$PI_DIR/passwd" --out "$PIU"
    note "privacyIDEA RSS (gunicorn and 4 workers) after enrollment: $(for p in $PI_PID $(pgrep -P "$PI_PID"); do awk '/VmRSS/ { print $2 }' "/proc/$p/status"; done | awk '{ s += $1 } END { printf "%.1f", s / 1024 }') MiB"
    load "privacyIDEA, SQLite WAL, closed" "$RUNS" privacyidea --url http://127.0.0.1:18500 \
      --users-file "$PIU" --server-pid "$PI_PID" --concurrency "$CONCURRENCY" --timeout 60s
    # p99 compared at a rate privacyIDEA sustains: half its closed-loop median.
    PI_RATE=$("$BENCH" table --results "$RESULTS" | awk -F'|' '/privacyIDEA, SQLite WAL, closed/ { printf "%d", $5 / 2 }')
    PI_RATE=$((PI_RATE > 1 ? PI_RATE : 1))
    load "privacyIDEA, SQLite WAL, open $PI_RATE/s" "$RUNS" privacyidea --url http://127.0.0.1:18500 \
      --users-file "$PIU" --server-pid "$PI_PID" --rate "$PI_RATE" --concurrency 1024 --timeout 60s
    load "HTTP, SQLite full, open $PI_RATE/s" "$RUNS" "${HTTP[@]}" --rate "$PI_RATE" --concurrency 1024
    kill "$PI_PID" 2>/dev/null || true
    RATIO_ARGS=(--ratio "HTTP, SQLite full, closed" "privacyIDEA, SQLite WAL, closed"
      --p99-ratio "HTTP, SQLite full, open $PI_RATE/s" "privacyIDEA, SQLite WAL, open $PI_RATE/s")
  else
    note "privacyIDEA could not be installed or started: see $PI_DIR"
  fi
fi

# --- memory with many tokens ----------------------------------------------------
if [ "$RSS_TOKENS" -gt 0 ]; then
  # Enrollment only fills the database here, so it runs with normal durability.
  ICHIDO_DURABILITY=normal start_server tokens 18084 18124 --data-dir "$WORK/tokens/data"
  TPID=$SERVER_PID
  TKEY=$(admin_key tokens)
  TU=$WORK/users-tokens.json
  "$BENCH" enroll --url http://127.0.0.1:18084 --admin-key "$TKEY" --users "$RSS_TOKENS" --out "$TU" \
    --enroll-concurrency 32
  load "HTTP, SQLite normal, $RSS_TOKENS tokens, closed" 1 http --url http://127.0.0.1:18084 --admin-key "$TKEY" \
    --users-file "$TU" --server-pid "$TPID" --concurrency "$CONCURRENCY"
  note "SQLite database with $RSS_TOKENS tokens (and the audit of their enrollment): $(du -sm "$WORK/tokens/data/ichido.db" | cut -f1) MiB"
  note "RSS with $RSS_TOKENS tokens, after enrolling them and validating: $(rss_mib "$TPID") MiB (peak $(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$TPID/status") MiB)"
  kill "$TPID"
fi

echo
cat "$NOTES"
echo
if [ "${#RATIO_ARGS[@]}" -gt 0 ]; then
  "$BENCH" table --results "$RESULTS" "${RATIO_ARGS[@]}"
else
  "$BENCH" table --results "$RESULTS"
fi
