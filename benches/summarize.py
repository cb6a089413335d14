#!/usr/bin/env python3
"""Merges the per-scenario reports of a benches/run.sh run into one JSON file
and writes the results table into benches/README.md between the markers.

usage: summarize.py OUT_DIR RESULT_JSON README COMMIT TOOK_SECONDS
"""
import json
import os
import platform
import sys
from datetime import datetime, timezone

START = "<!-- results:start (written by benches/run.sh) -->"
END = "<!-- results:end -->"

TARGETS = {
    "flash-sale/closed": "≥ 60,000 orders/s; sold out ≤ 0.3 s; p99 ≤ 20 ms",
    "uniform/closed": "≥ 50,000 orders/s",
    "uniform/open@half": "p99 ≤ 10 ms at half the max rate",
    "reads/closed": "≥ 20,000 calls/s (100 SKUs each)",
}
ORDER = ["flash-sale", "uniform", "zipf", "bundles", "lifecycle", "reads"]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load(out):
    scenarios = {}
    for name in ORDER:
        path = os.path.join(out, name + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            report = json.load(f)
        rc_path = os.path.join(out, name + ".ledger.rc")
        txt_path = os.path.join(out, name + ".ledger.txt")
        rc = int(open(rc_path).read().strip()) if os.path.exists(rc_path) else None
        txt = open(txt_path).read().strip() if os.path.exists(txt_path) else ""
        report["ledger_verify"] = {"ok": rc == 0, "exit": rc, "output": txt.splitlines()[-3:]}
        load_path = os.path.join(out, name + ".loadavg")
        if os.path.exists(load_path):
            before, after = (open(load_path).read().split() + ["?", "?"])[:2]
            report["machine_load_1min"] = {"before": before, "after": after}
        scenarios[name] = report
    return scenarios


def num(x, digits=0):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def throughput(name, i, phase, fig):
    if name in ("flash-sale", "uniform", "zipf", "bundles"):
        key = "orders_decided_per_s" if i == 0 else "half_rate_orders_decided_per_s"
        text = f"{num(fig.get(key))} orders/s"
        if name == "flash-sale":
            text += f"; sold out at {num(fig.get('sold_out_s'), 3)} s"
        if phase.get("offered_per_s"):
            text += f" (offered {num(phase['offered_per_s'])}/s)"
        return text
    if name == "lifecycle":
        return f"{num(fig.get('lifecycles_per_s'))} lifecycles/s ({num(phase['requests_per_s'])} calls/s)"
    if name == "reads":
        return f"{num(phase['requests_per_s'])} calls/s ({num(fig.get('skus_read_per_s'))} SKUs/s)"
    return f"{num(phase['requests_per_s'])} req/s"


def invariants(report):
    bad = [f"**{i['name']} = {i['value']}**" for i in report["invariants"] if not i["ok"]]
    if not report["ledger_verify"]["ok"]:
        bad.append("**ledger verify failed**")
    if bad:
        return "FAIL: " + ", ".join(bad)
    names = ", ".join(f"{i['name']} {i['value']}" for i in report["invariants"])
    return f"ok ({names}; ledger verify ok)"


def table(result):
    rows = [
        "| scenario / phase | mode | target | measured | p50 ms | p99 ms | p99.9 ms | statuses | invariants |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, report in result["scenarios"].items():
        fig = report["figures"]
        for i, p in enumerate(report["phases"]):
            lat = p["latency"]
            status = ", ".join(f"{k}: {v:,}" for k, v in p["status"].items())
            rows.append(
                f"| {p['name']} | {p['mode']} | {TARGETS.get(p['name'], '–')} | "
                f"{throughput(name, i, p, fig)} | {lat['p50_ms']:.2f} | {lat['p99_ms']:.2f} | "
                f"{lat['p999_ms']:.2f} | {status} | {invariants(report) if i == 0 else '″'} |"
            )
    loads = ", ".join(
        f"{n} {r['machine_load_1min']['before']} → {r['machine_load_1min']['after']}"
        for n, r in result["scenarios"].items()
        if "machine_load_1min" in r
    )
    m = result["machine"]
    head = (
        f"Run {result['date']} on commit `{result['commit']}`: {m['cpus']} CPUs ({m['cpu']}), "
        f"server and load generator on the same machine; whole run {result['took_s']} s. "
        f"Raw numbers: `benches/results/{result['file']}`."
    )
    if loads:
        head += (
            f" 1-minute load average before → after each scenario (the benchmark itself "
            f"accounts for about 2–3; more means other work shared the CPUs): {loads}."
        )
    return head + "\n\n" + "\n".join(rows)


def main():
    out, result_path, readme, commit, took = sys.argv[1:6]
    result = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "file": os.path.basename(result_path),
        "took_s": int(took),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release()},
        "scenarios": load(out),
    }
    with open(result_path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    text = open(readme).read() if os.path.exists(readme) else ""
    block = f"{START}\n{table(result)}\n{END}"
    if START in text and END in text:
        before = text.split(START)[0]
        after = text.split(END, 1)[1]
        text = before + block + after
    else:
        text += "\n## Results\n\n" + block + "\n"
    with open(readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
