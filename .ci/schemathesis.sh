#!/usr/bin/env bash
# Contract check: runs schemathesis against a freshly started `agusto serve`
# (loopback only, temporary data dir) once per principal (admin, staff,
# channel) and fails on any 5xx, undocumented status code, undocumented
# content type, or response that does not match the OpenAPI schema served at
# /api/v1/openapi.json.
#
# Usage:  bash .ci/schemathesis.sh [extra schemathesis run options...]
#         (extra options are passed to every run, after the defaults, e.g.
#         `--max-examples 50` or `--include-path-regex orders` when digging)
# Env:    AGUSTO_BIN   built binary (default target/release/agusto)
#         VENV         virtualenv holding schemathesis (default .venv; created
#                      and filled with the pinned version if missing)
#         ST_MAX_EXAMPLES  generated cases per operation and phase (default 8)
#         ST_SEED          hypothesis seed (default fixed, for reproducible runs)
#         ST_REPORT_DIR    if set, JUnit reports are written there
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

AGUSTO_BIN=${AGUSTO_BIN:-target/release/agusto}
VENV=${VENV:-.venv}
ST_VERSION=4.32.5
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-8}
ST_SEED=${ST_SEED:-20240607}

# Everything goes to loopback; never through a proxy.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy

if [[ ! -x $AGUSTO_BIN ]]; then
    echo "schemathesis.sh: no binary at $AGUSTO_BIN (build it, or set AGUSTO_BIN)" >&2
    exit 2
fi

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$ST_VERSION"; then
    echo "schemathesis.sh: installing schemathesis $ST_VERSION into $VENV"
    [[ -x $VENV/bin/pip ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
ST="$VENV/bin/schemathesis"

work=$(mktemp -d)
server_pid=
cleanup() {
    local rc=$?
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -s $work/server.log ]]; then
        echo "--- last lines of the server log ---" >&2
        tail -n 40 "$work/server.log" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

admin_token=aga_ci_$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')

# Only this script's settings: a stray AGUSTO_CONFIG / AGUSTO_* from the
# environment must not change what is tested.
env -u AGUSTO_CONFIG -u AGUSTO_LISTEN -u AGUSTO_METRICS_LISTEN \
    AGUSTO_ADMIN_TOKEN="$admin_token" RUST_LOG=warn \
    "$AGUSTO_BIN" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
    >"$work/server.out" 2>"$work/server.log" &
server_pid=$!

base=
for _ in $(seq 300); do
    base=$(sed -n 's|^agusto listening on \(http://127\.0\.0\.1:[0-9]*\).*|\1|p' "$work/server.out")
    [[ -n $base ]] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "schemathesis.sh: server exited at start-up" >&2; exit 1; }
    sleep 0.1
done
[[ -n $base ]] || { echo "schemathesis.sh: server did not report its address" >&2; exit 1; }
for _ in $(seq 100); do
    curl -sf --noproxy '*' "$base/healthz" >/dev/null && break
    sleep 0.1
done
curl -sf --noproxy '*' "$base/healthz" >/dev/null || { echo "schemathesis.sh: /healthz never answered" >&2; exit 1; }
echo "schemathesis.sh: server at $base"

# call METHOD PATH TOKEN [JSON] -> response body on stdout; fails on non-2xx.
call() {
    local method=$1 path=$2 token=$3 body=${4:-}
    local args=(-sS --noproxy '*' --fail-with-body -X "$method" -H "Authorization: Bearer $token")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data "$body")
    curl "${args[@]}" "$base$path"
}
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Seed data, so that reads and order placement find something.
for p in CI-APPLE CI-PEAR CI-PLUM; do
    call PUT "/api/v1/products/$p" "$admin_token" "{\"name\":\"$p\",\"active\":true}" >/dev/null
done
call PUT /api/v1/products/CI-OLD "$admin_token" '{"name":"retired","active":false}' >/dev/null
call POST /api/v1/stock/receipts "$admin_token" \
    '{"reference":"ci-seed","lines":[{"product_code":"CI-APPLE","quantity":1000},{"product_code":"CI-PEAR","quantity":50}]}' >/dev/null
staff_token=$(call POST /api/v1/tokens "$admin_token" '{"role":"staff","name":"ci"}' | json_field token)
channel=$(call POST /api/v1/channels "$admin_token" '{"name":"ci shop","rate_limit_per_second":100000}')
channel_token=$(json_field api_token <<<"$channel")
channel_id=$(json_field id <<<"$channel")
call PUT "/api/v1/channels/$channel_id/skus/SHOP-APPLE" "$staff_token" '{"product_code":"CI-APPLE"}' >/dev/null
call POST /api/v1/orders "$channel_token" '{"external_id":"ci-1","lines":[{"sku":"SHOP-APPLE","quantity":2}]}' >/dev/null
echo "schemathesis.sh: seeded products, a receipt, a staff token, channel $channel_id and an order"

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance

failed=0
run() {
    local who=$1 token=$2
    shift 2
    echo
    echo "=== schemathesis as $who ==="
    local report=()
    [[ -n ${ST_REPORT_DIR:-} ]] && report=(--report junit,ndjson --report-junit-path "$ST_REPORT_DIR/schemathesis-$who.xml" --report-ndjson-path "$ST_REPORT_DIR/schemathesis-$who.ndjson")
    if ! "$ST" --no-color run "$base/api/v1/openapi.json" \
        -H "Authorization: Bearer $token" \
        --checks "$checks" \
        --phases examples,coverage,fuzzing \
        --max-examples "$ST_MAX_EXAMPLES" \
        --seed "$ST_SEED" \
        --generation-database none \
        --workers 2 \
        --request-timeout 10 \
        --suppress-health-check too_slow,filter_too_much \
        --warnings off \
        "${report[@]}" "$@"; then
        failed=1
    fi
}

SECONDS=0
run admin "$admin_token" "$@"
run staff "$staff_token" "$@"
run channel "$channel_token" "$@"
echo
echo "schemathesis.sh: three runs in ${SECONDS}s"
if [[ $failed -ne 0 ]]; then
    echo "schemathesis.sh: FAILED" >&2
    exit 1
fi
echo "schemathesis.sh: passed"
