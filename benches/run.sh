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
#   BENCH_SCENARIOS="uniform reads"  run only these (default: all five)
#   BENCH_PROFILE=1               perf-record the server during each load phase
#                                 (results/<date>-<phase>.perf.txt, needs `perf`)
#   BENCH_SERVER_LOG=path         keep the servers' logs (default: discarded in a
#                                 full run, kept in the temp dir in a smoke run)
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
SCENARIOS=${BENCH_SCENARIOS:-"flash-sale uniform zipf lifecycle reads"}

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
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# start_server NAME [VAR=value ...]: sets URL, SERVER_PID, DATA.
start_server() {
  local name=$1; shift
  DATA=$WORK/$name-data
  mkdir -p "$DATA"
  local log=${BENCH_SERVER_LOG:-/dev/null}
  if [ "$SMOKE" = 1 ] && [ -z "${BENCH_SERVER_LOG:-}" ]; then log=$WORK/$name-server.log; fi
  env "$@" AGUSTO_ADMIN_TOKEN="$TOKEN" AGUSTO_LOG_FORMAT=json \
    "$AGUSTO_BIN" serve --data-dir "$DATA" --listen 127.0.0.1:0 >"$WORK/$name-stdout" 2>>"$log" &
  SERVER_PID=$!
  URL=
  for _ in $(seq 1 300); do
    URL=$(sed -n 's/^agusto listening on \(http:[^ ]*\).*/\1/p' "$WORK/$name-stdout")
    [ -n "$URL" ] && return 0
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "agusto serve did not start:" >&2
  cat "$WORK/$name-stdout" >&2
  [ -f "$log" ] && tail -20 "$log" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || echo "warning: agusto serve exited with $?" >&2
  SERVER_PID=
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
  "$AGUSTO_BIN" ledger verify --data-dir "$DATA" >"$OUT/$name.ledger.txt" 2>&1 || vrc=$?
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
      lifecycle) run_scenario "$s" "AGUSTO_RESERVATION_TTL_SECS=3" --products 50 --duration 10 --max-expiry-wait 30 ;;
      reads) run_scenario "$s" "" --products 2000 --duration 10 ;;
      *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
  else
    case $s in
      flash-sale) run_scenario "$s" "" --stock 10000 ;;
      uniform) run_scenario "$s" "" --products 100000 --duration 30 --half-rate-secs 20 ;;
      zipf) run_scenario "$s" "" --products 100000 --duration 30 ;;
      lifecycle) run_scenario "$s" "AGUSTO_RESERVATION_TTL_SECS=5" --duration 20 ;;
      reads) run_scenario "$s" "" --products 100000 --duration 20 ;;
      *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
  fi
done
TOOK=$(( $(date +%s) - START ))

if [ "$SMOKE" != 1 ]; then
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
