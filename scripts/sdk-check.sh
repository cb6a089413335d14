#!/usr/bin/env bash
# SDK check: the OpenAPI document that `agusto serve` serves is valid
# (openapi-spec-validator), its examples match their schemas (jsonschema),
# openapi-python-client generates a Python client from it without a single
# warning, and the seed workflow (stock in -> order -> paid -> pick -> pack ->
# complete -> status, plus 422 / 409 / 401 answers) runs through that
# generated client against the real binary. Loopback only; a temporary data
# dir; every wait has a deadline. Driver: tests/interop/sdk_workflow.py.
#
# Usage:  bash scripts/sdk-check.sh
# Env:    AGUSTO_BIN  built binary (default target/debug/agusto)
#         VENV        virtualenv with scripts/requirements-test.txt (default .venv)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AGUSTO_BIN=${AGUSTO_BIN:-target/debug/agusto}
VENV=${VENV:-.venv}
if [[ ! -x $AGUSTO_BIN ]]; then
    echo "sdk-check.sh: no binary at $AGUSTO_BIN (cargo build --bin agusto, or set AGUSTO_BIN)" >&2
    exit 2
fi
if [[ ! -x $VENV/bin/openapi-python-client ]]; then
    echo "sdk-check.sh: no openapi-python-client in $VENV: pip install -r scripts/requirements-test.txt" >&2
    exit 2
fi
# The generator's post hooks run ruff, which the virtualenv brings.
PATH="$(cd "$VENV/bin" && pwd):$PATH"
export PATH NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
exec "$VENV/bin/python" tests/interop/sdk_workflow.py --bin "$AGUSTO_BIN"
