#!/usr/bin/env bash
# Contract check: runs schemathesis against a freshly started `agusto serve`
# (loopback only, temporary data dir) once per principal (admin, staff,
# channel) and fails on any 5xx, undocumented status code, undocumented
# content type, or response (body or headers) that does not match the OpenAPI
# document served at /api/v1/openapi.json.
#
# Runs: admin gets every phase (coverage: deterministic boundary and negative
# cases for every parameter and body field; fuzzing; stateful: chains such as
# POST /tokens -> DELETE /tokens/{id}); staff and channel get fuzzing, which
# is where their different views (403s, channel SKUs, own orders) show up.
# About 1,650 cases in all (seeded, so the same ones every run); about 15 s
# with a debug build on 2 cores.
#
# Before that, a few requests schemathesis never makes (unknown route,
# unknown method, undecodable path segment, JSON array body) are checked to
# be problem+json too.
#
# Usage:  bash .ci/schemathesis.sh [extra schemathesis run options...]
#         (extra options are passed to every run, after the defaults, e.g.
#         `--max-examples 50` or `--include-path-regex orders` when digging)
# Env:    AGUSTO_BIN   built binary (default target/release/agusto)
#         VENV         virtualenv holding schemathesis (default .venv; created
#                      and filled with the pinned version if missing)
#         ST_MAX_EXAMPLES  generated cases per operation and phase (default 8)
#         ST_SEED          hypothesis seed (default fixed, for reproducible runs)
#         ST_REPORT_DIR    if set, JUnit and NDJSON reports are written there
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
ST="$(cd "$VENV" && pwd)/bin/schemathesis"
AGUSTO_BIN=$(cd "$(dirname "$AGUSTO_BIN")" && pwd)/$(basename "$AGUSTO_BIN")

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

# probe METHOD PATH STATUS [BODY]: the answer has that status and is problem+json.
probe() {
    local method=$1 path=$2 want=$3 body=${4:-} got
    local args=(-sS --noproxy '*' -o /dev/null -w '%{http_code} %{content_type}' -X "$method"
        -H "Authorization: Bearer $admin_token")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data "$body")
    got=$(curl "${args[@]}" "$base$path")
    if [[ $got != "$want application/problem+json" ]]; then
        echo "schemathesis.sh: $method $path gave '$got', want '$want application/problem+json'" >&2
        return 1
    fi
}
probe GET /api/v1/no-such-route 404
probe DELETE /api/v1/products 405
probe GET /api/v1/inventory/%FF 400
probe POST /api/v1/webhooks/deliveries/%FF/retry 400
probe POST /api/v1/tokens 400 '["staff","ci"]'
probe POST /api/v1/stock/receipts 400 '{"reference":"ci","lines":[["CI-APPLE",1]]}'
echo "schemathesis.sh: edge probes answered problem+json"

# Schemathesis keeps a cache (.schemathesis/ in the working directory) and
# replays the failures stored there on the next run: runs must be hermetic
# and leave nothing in the checkout, so it is off and schemathesis runs in the
# temporary directory.
printf '[cache]\nenabled = false\n' >"$work/schemathesis.toml"

# The response checks, plus the request-side ones that hold for this API:
# schema-invalid input is refused (negative_data_rejection), no operation
# works without a token (ignored_auth), undocumented methods are 405 with an
# Allow header, a deleted token stays gone (use_after_free).
# Left out: positive_data_acceptance. It expects every schema-valid request
# to succeed, but the contract has rules no schema states: referenced
# products must exist (422), cursors are opaque server-issued strings (422),
# text must not be blank or hold control characters (422), and an integral
# float such as 3.0, an "integer" to JSON Schema, is the wrong type for the
# API's integer fields (400).
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
checks+=,response_headers_conformance,negative_data_rejection,ignored_auth,missing_required_header
checks+=,unsupported_method,allow_header_conformance,use_after_free,ensure_resource_availability

report_dir=
if [[ -n ${ST_REPORT_DIR:-} ]]; then
    mkdir -p "$ST_REPORT_DIR"
    report_dir=$(cd "$ST_REPORT_DIR" && pwd)
fi

failed=0
# run WHO TOKEN PHASES [extra options...]
run() {
    local who=$1 token=$2 phases=$3
    shift 3
    echo
    echo "=== schemathesis as $who ==="
    local report=()
    if [[ -n $report_dir ]]; then
        report=(--report junit,ndjson --report-junit-path "$report_dir/schemathesis-$who.xml"
            --report-ndjson-path "$report_dir/schemathesis-$who.ndjson")
    fi
    if ! (cd "$work" && "$ST" --config-file "$work/schemathesis.toml" --no-color run "$base/api/v1/openapi.json" \
        -H "Authorization: Bearer $token" \
        --checks "$checks" \
        --phases "$phases" \
        --max-examples "$ST_MAX_EXAMPLES" \
        --seed "$ST_SEED" \
        --generation-database none \
        --workers 1 \
        --request-timeout 10 \
        --suppress-health-check too_slow,filter_too_much \
        --warnings off \
        "${report[@]}" "$@"); then
        failed=1
    fi
}

SECONDS=0
run admin "$admin_token" examples,coverage,fuzzing,stateful "$@"
run staff "$staff_token" examples,fuzzing "$@"
run channel "$channel_token" examples,fuzzing "$@"
echo
echo "schemathesis.sh: three runs in ${SECONDS}s"
if [[ $failed -ne 0 ]]; then
    echo "schemathesis.sh: FAILED" >&2
    exit 1
fi
echo "schemathesis.sh: passed"
