#!/usr/bin/env python3
"""Consistency checks of docker-compose.yml and the files it mounts, for a
machine without a Docker engine. Needs PyYAML (Debian: python3-yaml).
Run by .ci/ops-checks.sh from the repository root:

    python3 config/check_compose.py

It checks what `docker compose config` cannot:
- the services the stack promises exist (Kafka, ScyllaDB, topic-init, migrate,
  2× ingest, 2× stock writer, order forwarder, webhook worker, Prometheus,
  Grafana), images are pinned, host ports are unique;
- every agusto service gets the whole shared environment (x-agusto-env) and
  a role the binary has; ingest is health-checked on /readyz, workers on
  /healthz, with the probe the Dockerfile installs;
- `agusto migrate` is a one-shot service (no restart, no ports, no health
  check) waiting for ScyllaDB, and every ingest and worker waits for it to
  complete successfully (it is the one owner of schema changes);
- depends_on names existing services, `service_healthy` targets have a health
  check, `service_completed_successfully` targets are one-shot, there is no
  cycle (the start order is printed);
- topic-init uses the same partition counts as the agusto processes, and its
  script really creates missing topics and refuses a topic whose partition
  count differs (run with bash against a stub kafka-topics.sh);
- config/prometheus.yml scrapes every agusto service on its listen port and
  names no service that does not exist; its rule file is mounted beside it;
- the Grafana provisioning points at the prometheus service and at the
  mounted dashboard directory, which holds the home dashboard;
- every bind-mounted file exists; the Dockerfile builds the binary the
  services run and installs the probe; .dockerignore keeps target/ and .git out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED = {
    "kafka", "scylla", "topic-init", "migrate", "ingest-1", "ingest-2", "worker-stock",
    "worker-orders", "worker-webhooks", "prometheus", "grafana",
}
ROLES = {"ingest": ["ingest"], "worker": ["stock", "orders", "webhooks", "all"], "migrate": []}
# Agusto roles that run once and exit instead of serving.
ONE_SHOT = {"migrate"}
TOPIC_VARS = {
    "agusto.stock.commands": "AGUSTO_STOCK_PARTITIONS",
    "agusto.order.commands": "AGUSTO_ORDER_PARTITIONS",
    "agusto.replies": "AGUSTO_REPLY_PARTITIONS",
}

problems: list[str] = []


def fail(msg: str) -> None:
    problems.append(msg)
    print(f"FAIL {msg}")


def ok(msg: str) -> None:
    print(f"ok   {msg}")


def interpolate(value):
    """Compose's variable interpolation with an empty environment:
    ${X:-d} -> d, ${X:?e} -> a placeholder, $$ -> $."""
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if not isinstance(value, str):
        return value
    out = re.sub(r"\$\{([A-Z0-9_]+):-([^}]*)\}", lambda m: m.group(2), value)
    out = re.sub(r"\$\{([A-Z0-9_]+):\?[^}]*\}", "placeholder-from-environment", out)
    if re.search(r"(?<!\$)\$\{[^}]*\}", out.replace("$$", "")):
        fail(f"variable without a default: {value!r}")
    return out.replace("$$", "$")


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def deps_of(service: dict) -> dict[str, str]:
    d = service.get("depends_on") or {}
    if isinstance(d, list):
        return {name: "service_started" for name in d}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in d.items()}


def main() -> int:
    os.chdir(ROOT)
    raw = yaml.safe_load(open("docker-compose.yml", encoding="utf-8"))
    compose = interpolate(raw)
    services: dict[str, dict] = compose["services"]
    shared = {k: str(v) for k, v in compose["x-agusto-env"].items()}

    # services, images, ports
    missing = EXPECTED - set(services)
    if missing:
        fail(f"services missing: {sorted(missing)}")
    else:
        ok(f"all {len(EXPECTED)} services present")
    for name, s in services.items():
        image = s.get("image", "")
        if not image or image.endswith(":latest") or ":" not in image:
            fail(f"{name}: image {image!r} is not pinned to a tag")
    host_ports = [p.split(":")[-2] for s in services.values() for p in s.get("ports", [])]
    if len(host_ports) != len(set(host_ports)):
        fail(f"host ports used twice: {host_ports}")
    else:
        ok(f"host ports unique: {', '.join(sorted(host_ports, key=int))}")
    if services.get("worker-stock", {}).get("deploy", {}).get("replicas") != 2:
        fail("worker-stock: expected deploy.replicas: 2")
    if services.get("worker-webhooks", {}).get("deploy", {}).get("replicas") != 2:
        fail("worker-webhooks: expected deploy.replicas: 2 (webhook workers share the deliveries)")

    # agusto services
    every_agusto = {n: s for n, s in services.items() if s.get("image") == "agusto:local"}
    one_shot = {n for n, s in every_agusto.items() if (s.get("command") or [""])[0] in ONE_SHOT}
    agusto = {n: s for n, s in every_agusto.items() if n not in one_shot}
    if not one_shot:
        fail("no one-shot `agusto migrate` service")
    for name in sorted(one_shot):
        s = every_agusto[name]
        drift = {k for k, v in shared.items() if env_of(s).get(k) != v}
        if drift:
            fail(f"{name}: shared settings missing or changed: {sorted(drift)}")
        if s.get("restart", "no") != "no" or s.get("ports") or s.get("healthcheck"):
            fail(f"{name}: a one-shot service has restart: \"no\", no ports and no health check")
        if deps_of(s).get("scylla") != "service_healthy":
            fail(f"{name}: should wait for scylla (service_healthy)")
        if "build" not in s:
            fail(f"{name}: no build section (agusto:local is built from the Dockerfile)")
    listen_port: dict[str, str] = {}
    for name, s in agusto.items():
        cmd = s.get("command") or []
        role = cmd[0] if cmd else ""
        if role not in ROLES or role in ONE_SHOT or (role == "worker" and (len(cmd) < 2 or cmd[1] not in ROLES[role])):
            fail(f"{name}: command {cmd} is not an agusto role")
        env = env_of(s)
        drift = {k for k, v in shared.items() if env.get(k) != v}
        if drift:
            fail(f"{name}: shared settings missing or changed: {sorted(drift)}")
        listen_port[name] = env.get("AGUSTO_LISTEN", "127.0.0.1:8080").rsplit(":", 1)[1]
        if env.get("AGUSTO_LISTEN", "").split(":")[0] not in ("0.0.0.0", "[::]"):
            fail(f"{name}: AGUSTO_LISTEN must listen on all interfaces in a container")
        test = (s.get("healthcheck") or {}).get("test") or []
        want = "/readyz" if role == "ingest" else "/healthz"
        if test[:2] != ["CMD", "agusto-probe"] or test[2:] != [want]:
            fail(f"{name}: health check should be agusto-probe {want}, is {test}")
        for p in s.get("ports", []):
            if p.split(":")[-1] != listen_port[name]:
                fail(f"{name}: port {p} does not reach AGUSTO_LISTEN port {listen_port[name]}")
        if "build" not in s:
            fail(f"{name}: no build section (agusto:local is built from the Dockerfile)")
    ok(f"{len(agusto)} agusto services share x-agusto-env and have role, listen address and health check; "
       f"one-shot: {', '.join(sorted(one_shot))}")

    # depends_on
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            fail(f"depends_on cycle: {' -> '.join(path + [n])}")
            return
        state[n] = 1
        for dep, cond in deps_of(services[n]).items():
            if dep not in services:
                fail(f"{n}: depends on unknown service {dep}")
                continue
            if cond == "service_healthy" and not services[dep].get("healthcheck"):
                fail(f"{n}: waits for {dep} to be healthy, but {dep} has no health check")
            if cond == "service_completed_successfully" and services[dep].get("restart", "no") != "no":
                fail(f"{n}: waits for {dep} to complete, but {dep} restarts")
            visit(dep, path + [n])
        state[n] = 2
        order.append(n)

    for n in services:
        visit(n, [])
    for n in agusto:
        deps = deps_of(agusto[n])
        for infra, cond in (("kafka", "service_healthy"), ("scylla", "service_healthy"),
                            ("topic-init", "service_completed_successfully"),
                            *((m, "service_completed_successfully") for m in sorted(one_shot))):
            if deps.get(infra) != cond:
                fail(f"{n}: should wait for {infra} ({cond})")
    ok("start order: " + " -> ".join(order))

    # topic-init
    ti = services["topic-init"]
    ti_env = env_of(ti)
    for var in TOPIC_VARS.values():
        if ti_env.get(var) != shared.get(var):
            fail(f"topic-init: {var}={ti_env.get(var)} but the agusto processes use {shared.get(var)}")
    script = ti["command"][0]
    entry = ti.get("entrypoint") or []
    for topic in TOPIC_VARS:
        if topic not in script:
            fail(f"topic-init: does not create {topic}")
    run_topic_init(entry, script, ti_env)

    # prometheus
    prom = yaml.safe_load(open("config/prometheus.yml", encoding="utf-8"))
    scraped: dict[str, str] = {}
    for job in prom["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for n in sd["names"]:
                scraped[n] = str(sd["port"])
        for sc in job.get("static_configs", []):
            for t in sc["targets"]:
                host, port = t.rsplit(":", 1)
                scraped[host] = port
    for n in agusto:
        if scraped.get(n) != listen_port[n]:
            fail(f"prometheus.yml: {n} should be scraped on port {listen_port[n]}, is {scraped.get(n)}")
    for host in scraped:
        if host not in services and host != "localhost":
            fail(f"prometheus.yml: scrapes {host}, which is no compose service")
    prom_mounts = mounts(services["prometheus"])
    cfg_dir = os.path.dirname(prom_mounts.get("./config/prometheus.yml", "/missing/x"))
    for rule_file in prom.get("rule_files", []):
        target = os.path.join(cfg_dir, rule_file)
        if target not in prom_mounts.values():
            fail(f"prometheus: rule file {rule_file} is not mounted at {target}")
    ok(f"prometheus scrapes every agusto service ({', '.join(sorted(agusto))}); rule files mounted")

    # grafana
    g = services["grafana"]
    g_mounts = mounts(g)
    ds = yaml.safe_load(open("config/grafana/provisioning/datasources/prometheus.yml", encoding="utf-8"))
    url = ds["datasources"][0]["url"]
    m = re.match(r"http://([^:/]+):(\d+)", url)
    prom_args = " ".join(services["prometheus"].get("command", []))
    prom_port = (re.findall(r"--web\.listen-address=\S*:(\d+)", prom_args) or ["9090"])[0]
    if not m or m.group(1) != "prometheus" or m.group(2) != prom_port:
        fail(f"grafana datasource url {url} does not reach the prometheus service on {prom_port}")
    prov = yaml.safe_load(open("config/grafana/provisioning/dashboards/agusto.yml", encoding="utf-8"))
    dash_path = prov["providers"][0]["options"]["path"]
    if g_mounts.get("./config/grafana/dashboards") != dash_path:
        fail(f"grafana: dashboards are provisioned from {dash_path}, mounted at {g_mounts.get('./config/grafana/dashboards')}")
    if g_mounts.get("./config/grafana/provisioning") != "/etc/grafana/provisioning":
        fail("grafana: provisioning must be mounted at /etc/grafana/provisioning")
    home = env_of(g).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "")
    rel = os.path.relpath(home, dash_path)
    if rel.startswith("..") or not os.path.exists(os.path.join("config/grafana/dashboards", rel)):
        fail(f"grafana: home dashboard {home} is not in the mounted dashboards")
    ok(f"grafana provisions the datasource ({url}) and dashboards from {dash_path}")

    # mounts exist
    for name, s in services.items():
        for src in mounts(s):
            if src.startswith(".") and not os.path.exists(src):
                fail(f"{name}: mounts {src}, which does not exist")
    named = set((compose.get("volumes") or {}).keys())
    for name, s in services.items():
        for v in s.get("volumes", []):
            src = v.split(":")[0]
            if not src.startswith((".", "/")) and src not in named:
                fail(f"{name}: volume {src} is not declared")

    # Dockerfile and .dockerignore
    docker = open("Dockerfile", encoding="utf-8").read()
    for needle in ("cargo build --release --locked --bin agusto", 'ENTRYPOINT ["agusto"]',
                   "config/agusto-probe.sh /usr/local/bin/agusto-probe", "FROM debian:bookworm-slim"):
        if needle not in docker:
            fail(f"Dockerfile: missing {needle!r}")
    user = re.findall(r"^USER\s+(\S+)", docker, re.M)
    if not user or user[-1].split(":")[0] in ("root", "0"):
        fail("Dockerfile: the runtime image must run as a non-root user")
    ignored = {line.strip() for line in open(".dockerignore", encoding="utf-8") if line.strip()}
    for entry in ("target", ".git", ".venv", "agusto-data"):
        if entry not in ignored:
            fail(f".dockerignore: {entry} is not ignored")
    ok("Dockerfile builds and installs agusto and agusto-probe as a non-root image; .dockerignore complete")

    print(f"compose check: {len(problems)} problem(s)")
    return 1 if problems else 0


def mounts(service: dict) -> dict[str, str]:
    out = {}
    for v in service.get("volumes", []):
        parts = v.split(":")
        if len(parts) >= 2:
            out[parts[0].rstrip("/")] = parts[1]
    return out


STUB = r"""#!/usr/bin/env bash
# kafka-topics.sh stand-in: topics live in files under $STUB_DIR.
set -eu
topic="" partitions=""
create=0 describe=0 if_not_exists=0
while [ $# -gt 0 ]; do
  case "$1" in
    --topic) topic="$2"; shift ;;
    --partitions) partitions="$2"; shift ;;
    --create) create=1 ;;
    --describe) describe=1 ;;
    --if-not-exists) if_not_exists=1 ;;
    --bootstrap-server|--replication-factor) shift ;;
  esac
  shift
done
f="$STUB_DIR/$topic"
if [ $create = 1 ]; then
  if [ -e "$f" ]; then
    [ $if_not_exists = 1 ] || { echo "Topic '$topic' already exists." >&2; exit 1; }
  else
    echo "$partitions" > "$f"; echo "Created topic $topic."
  fi
elif [ $describe = 1 ]; then
  n=$(cat "$f")
  printf 'Topic: %s\tTopicId: x\tPartitionCount: %s\tReplicationFactor: 1\tConfigs: \n' "$topic" "$n"
  for i in $(seq 0 $((n - 1))); do
    printf '\tTopic: %s\tPartition: %s\tLeader: 1\tReplicas: 1\tIsr: 1\n' "$topic" "$i"
  done
fi
"""


def run_topic_init(entry: list[str], script: str, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stub = os.path.join(tmp, "kafka-topics.sh")
        with open(stub, "w") as f:
            f.write(STUB)
        os.chmod(stub, 0o755)
        topics = os.path.join(tmp, "topics")
        os.mkdir(topics)
        run_env = {**os.environ, **env, "KAFKA_TOPICS": stub, "STUB_DIR": topics}

        def run():
            return subprocess.run([*entry, script], env=run_env, capture_output=True, text=True, timeout=60)

        first = run()
        made = {t: open(os.path.join(topics, t)).read().strip() for t in os.listdir(topics)}
        want = {t: env[v] for t, v in TOPIC_VARS.items()}
        if first.returncode != 0 or made != want:
            fail(f"topic-init on an empty broker: exit {first.returncode}, topics {made}, want {want}\n{first.stderr}")
        again = run()
        if again.returncode != 0:
            fail(f"topic-init on existing topics: exit {again.returncode}\n{again.stderr}")
        with open(os.path.join(topics, "agusto.stock.commands"), "w") as f:
            f.write(str(int(env["AGUSTO_STOCK_PARTITIONS"]) * 2))
        changed = run()
        if changed.returncode == 0 or "partitions" not in changed.stderr:
            fail(f"topic-init accepted a topic with another partition count: exit {changed.returncode}")
        if not any(p.startswith("topic-init") for p in problems):
            ok(f"topic-init creates {want}, is idempotent, and refuses a changed partition count")


if __name__ == "__main__":
    sys.exit(main())
