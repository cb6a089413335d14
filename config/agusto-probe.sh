#!/usr/bin/env bash
# agusto-probe [PATH] — container health check without curl in the image.
#
# Sends `GET PATH` (default /healthz) to this container's own agusto process,
# on the port of AGUSTO_LISTEN (default 8080), and exits 0 only on a 200.
# The Dockerfile installs it as /usr/local/bin/agusto-probe; docker-compose.yml
# uses `agusto-probe /readyz` for ingest (bus and store reachable) and
# `agusto-probe /healthz` for workers. .ci/ops-checks.sh runs it against a
# local `agusto serve` (AGUSTO_PROBE_HOST / AGUSTO_LISTEN point it there).
set -euo pipefail
path="${1:-/healthz}"
listen="${AGUSTO_LISTEN:-0.0.0.0:8080}"
port="${listen##*:}"
host="${AGUSTO_PROBE_HOST:-127.0.0.1}"
exec 3<>"/dev/tcp/${host}/${port}"
printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
IFS= read -r -t 5 status <&3 || status=""
exec 3<&-
case "$status" in
  "HTTP/1.1 200"*) exit 0 ;;
  *) echo "agusto-probe: GET $path on port $port answered: ${status:-nothing}" >&2; exit 1 ;;
esac
