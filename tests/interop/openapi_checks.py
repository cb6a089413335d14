"""Checks of the served OpenAPI document with tools that are not ours.

- openapi-spec-validator: the document is valid OpenAPI (unique operation
  ids among the rest);
- jsonschema: every example (of a schema, a request or a response) is valid
  for the schema it illustrates;
- the document is made for SDKs: each operation has a unique camelCase
  operationId, a tag, a summary, a description and examples, and its error
  responses use the shared Problem schema;
- openapi-python-client generates a client without a single warning.
"""

import os
import re
import subprocess
import sys

import jsonschema

from harness import CheckFailed

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
TAGS = {"catalogue", "stock", "orders", "returns", "channels", "tokens", "webhooks", "operations"}
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def tool(name):
    """A console script of the virtualenv this interpreter runs in."""
    return os.path.join(os.path.dirname(sys.executable), name)


def run(argv, cwd=None, timeout=300):
    """(exit code, stdout + stderr) of a tool; the venv's bin first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def validate_document(path):
    """openapi-spec-validator accepts the document."""
    code, out = run([tool("openapi-spec-validator"), path])
    if code != 0:
        raise CheckFailed(f"openapi-spec-validator rejects the document:\n{out}")
    print(f"openapi_checks: openapi-spec-validator: {out.strip()}")


def operations(doc):
    """(method, path, operation) of every operation."""
    for path, item in sorted(doc["paths"].items()):
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def check_examples(doc):
    """Every example is valid for its schema (JSON Schema 2020-12)."""
    components = doc["components"]
    checked = 0

    def check(where, schema, value):
        nonlocal checked
        root = dict(schema, components=components)
        errors = list(jsonschema.Draft202012Validator(root).iter_errors(value))
        if errors:
            raise CheckFailed(f"{where}: example does not match its schema: {errors[0].message}")
        checked += 1

    for name, schema in components["schemas"].items():
        if not schema.get("examples"):
            raise CheckFailed(f"schema {name} has no example")
        if not schema.get("description"):
            raise CheckFailed(f"schema {name} has no description")
        for value in schema["examples"]:
            check(f"schema {name}", schema, value)
    for method, path, op in operations(doc):
        bodies = [("request", op.get("requestBody", {}).get("content", {}))]
        bodies += [(status, r.get("content", {})) for status, r in op["responses"].items()]
        for where, content in bodies:
            for media, body in content.items():
                label = f"{method.upper()} {path} {where} {media}"
                values = [body["example"]] if "example" in body else []
                values += [e["value"] for e in body.get("examples", {}).values()]
                if not values:
                    raise CheckFailed(f"{label}: no example")
                for value in values:
                    check(label, body.get("schema", {}), value)
    print(f"openapi_checks: {checked} examples valid for their schemas (jsonschema)")


def check_made_for_sdks(doc):
    """Operation ids, tags, texts and shared error responses."""
    seen = {}
    for method, path, op in operations(doc):
        label = f"{method.upper()} {path}"
        op_id = op.get("operationId", "")
        if not CAMEL.match(op_id):
            raise CheckFailed(f"{label}: operationId {op_id!r} is not camelCase")
        if op_id in seen:
            raise CheckFailed(f"{label}: operationId {op_id} is also {seen[op_id]}")
        seen[op_id] = label
        if len(op.get("tags", [])) != 1 or op["tags"][0] not in TAGS:
            raise CheckFailed(f"{label}: tags {op.get('tags')} (one of {sorted(TAGS)})")
        for text in ("summary", "description"):
            if len(op.get(text, "").strip()) < 10:
                raise CheckFailed(f"{label}: no {text}")
        for status, response in op["responses"].items():
            problem = response.get("content", {}).get("application/problem+json")
            if status[0] in "45" and (problem is None
                                      or problem["schema"] != {"$ref": "#/components/schemas/Problem"}):
                raise CheckFailed(f"{label} {status}: not the shared Problem schema")
        if op.get("security") and not {"401", "403", "503"} <= set(op["responses"]):
            raise CheckFailed(f"{label}: an authenticated operation without 401/403/503")
    print(f"openapi_checks: {len(seen)} operations with unique camelCase ids, tags, texts, examples")


def generate_client(doc_path, out_dir):
    """openapi-python-client generates a client, with no warning at all."""
    code, out = run([tool("openapi-python-client"), "generate", "--path", doc_path,
                     "--output-path", out_dir, "--meta", "none"])
    if code != 0 or "warning" in out.lower() or "error" in out.lower():
        raise CheckFailed(f"openapi-python-client (exit {code}) warned or failed:\n{out}")
    print(f"openapi_checks: openapi-python-client generated {out_dir} with no warning")
