#!/usr/bin/env python3
"""Checks that the Grafana dashboard and the Prometheus alert rules only query
metrics Agusto really exports, with labels those metrics really have.

Python 3 standard library only. Run by .ci/ops-checks.sh:

    config/check_dashboard.py \
        --dashboard config/grafana/dashboards/agusto.json --rules config/alerts.yml \
        --scrape http://127.0.0.1:PORT/metrics [--scrape ...] \
        --declared-in bus/src/kafka/metrics.rs \
        [--prometheus http://127.0.0.1:PORT]

What it does:

1. Collects every PromQL expression: each panel target of the dashboard (rows
   included) and each `expr:` of the alert rules.
2. Scrapes the given /metrics endpoints of running agusto processes (the CI
   script exercises them first so the labelled vectors exist) and notes every
   sample name with its label names.
3. Tokenises each expression (strings, label matchers, range selectors,
   grouping clauses, functions, aggregations) and fails when
   - a metric is neither in a scrape nor allowed (see below);
   - a label matcher names a label the metric does not have;
   - a `by (...)` / `without (...)` / `on (...)` / `ignoring (...)` label is on
     none of the expression's metrics;
   - a counter (`_total`) or a histogram series (`_bucket`, `_sum`, `_count`)
     is used without rate() / increase() / irate() around it (unless the
     expression carries the PromQL comment `# lint: raw counter`), a gauge is
     rate()d, or a `_bucket` series is aggregated without `le` or outside
     histogram_quantile().
   Labels Prometheus adds at scrape time (job, instance, and `service` from
   config/prometheus.yml's relabelling) are allowed on every metric; `up` is
   the one Prometheus-generated metric allowed.
4. With --prometheus: evaluates every expression on that Prometheus (instant
   query; Grafana's $__rate_interval / $__interval / $__range become 1m / 1m /
   5m) and fails on any evaluation error; then requires every alert rule of
   --rules to be loaded there and healthy (evaluated without error).

Allowed without a live sample (--declared-in FILE): a metric registered in
FILE (a `register_*!("name", "help", &["label", ...])` call) but absent from
every scrape is accepted, with its labels from that call, and reported as
"declared only". The CI passes bus/src/kafka/metrics.rs: the Kafka consumer
metrics exist only in a process consuming from a broker, and some of them
only after a rare event (agusto_undecodable_messages_total counts messages
that do not decode; the CI's worker never sees one). Every metric that a
scrape does show is checked against the scrape, never against the source.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

SCRAPE_LABELS = {"job", "instance", "service"}
SYNTHETIC = {"up": {"job", "instance", "service"}}
AGGREGATORS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"bool", "and", "or", "unless", "offset", "inf", "nan", "atan2", "start", "end"}
COUNTER_FUNCS = {"rate", "increase", "irate", "resets"}
# A PromQL comment with this text allows raw counter values in its expression
# (e.g. `counter unless counter offset 15m`, to see a series born in a window).
RAW_COUNTER_OK = "lint: raw counter"
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "5m"}

TOKEN = re.compile(
    r"""
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<comment>\#[^\n]*)
  | (?P<braces>\{[^}]*\})
  | (?P<range>\[[^\]]*\])
  | (?P<number>(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:ms|[smhdwy])*
                 (?:\d+(?:ms|[smhdwy]))*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<punct>[(),])
  | (?P<op>[^\sA-Za-z0-9_:(),"'`{}\[\]]+)
  | (?P<space>\s+)
    """,
    re.VERBOSE,
)
MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"')


@dataclass
class Family:
    """What one sample name offers: its type and label names."""

    kind: str
    labels: set[str] = field(default_factory=set)
    origin: str = "scrape"


@dataclass
class Expr:
    where: str
    text: str


# --- collecting expressions ---------------------------------------------------


def dashboard_exprs(path: str) -> list[Expr]:
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    found: list[Expr] = []

    def walk(panels):
        for p in panels or []:
            for t in p.get("targets") or []:
                if t.get("expr"):
                    found.append(Expr(f"panel {p.get('title')!r} ({t.get('refId')})", t["expr"]))
            walk(p.get("panels"))

    walk(dash.get("panels"))
    for var in (dash.get("templating") or {}).get("list") or []:
        q = var.get("query")
        if var.get("type") == "query" and isinstance(q, (str, dict)):
            text = q if isinstance(q, str) else q.get("query", "")
            if text:
                found.append(Expr(f"variable {var.get('name')!r}", text))
    return found


def rule_exprs(path: str) -> list[tuple[str, str]]:
    """(alert or record name, expr) from a rules file, without a YAML library:
    `expr:` as a plain/quoted scalar or a `|` / `>` block scalar."""
    lines = open(path, encoding="utf-8").read().splitlines()
    out: list[tuple[str, str]] = []
    name = "?"
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*-?\s*(alert|record):\s*(.+?)\s*$", line)
        if m:
            name = m.group(2).strip("'\"")
        m = re.match(r"^(\s*)-?\s*expr:\s*(.*?)\s*$", line)
        if m:
            indent = len(m.group(1))
            value = m.group(2)
            if value[:1] in "|>":
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                out.append((name, "\n".join(block).strip()))
                continue
            if value[:1] in "'\"":
                value = value[1:-1].replace("''", "'") if value[0] == "'" else json.loads(value)
            out.append((name, value))
        i += 1
    return out


# --- what the code exports ------------------------------------------------------


def scrape(url: str) -> dict[str, Family]:
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode("utf-8")
    types: dict[str, str] = {}
    fams: dict[str, Family] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        name = m.group(1)
        labels = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*"', m.group(3) or ""))
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        kind = types.get(name) or types.get(base, "untyped")
        fams.setdefault(name, Family(kind)).labels |= labels
    return fams


def declared(path: str) -> dict[str, Family]:
    """Metrics registered in a Rust source file with their label names."""
    src = open(path, encoding="utf-8").read()
    out: dict[str, Family] = {}
    for m in re.finditer(
        r'register_(?:int_)?(counter|gauge|histogram)(?:_vec)?!\(\s*"([a-z_:][a-z0-9_:]*)"\s*,\s*"[^"]*"\s*(?:,\s*&\[([^\]]*)\])?',
        src,
    ):
        kind, name, labels = m.group(1), m.group(2), m.group(3) or ""
        names = set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', labels))
        origin = f"declared only ({path})"
        if kind == "histogram":
            out[name + "_bucket"] = Family(kind, names | {"le"}, origin)
            out[name + "_sum"] = Family(kind, set(names), origin)
            out[name + "_count"] = Family(kind, set(names), origin)
        else:
            out[name] = Family(kind, names, origin)
    return out


# --- PromQL ---------------------------------------------------------------------


@dataclass
class Use:
    metric: str
    matchers: set[str]
    wrapped_by: str | None


@dataclass
class Parsed:
    uses: list[Use]
    groupings: list[tuple[str, set[str]]]
    functions: set[str]
    errors: list[str]
    raw_counter_ok: bool = False


def substitute(text: str) -> str:
    for var, value in GRAFANA_VARS.items():
        text = text.replace(var, value)
    return text


def parse(text: str) -> Parsed:
    text = substitute(text)
    tokens: list[tuple[str, str]] = []
    pos = 0
    errors: list[str] = []
    comments: list[str] = []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            errors.append(f"cannot tokenise at {text[pos:pos + 20]!r}")
            break
        pos = m.end()
        if m.lastgroup == "comment":
            comments.append(m.group())
        elif m.lastgroup != "space":
            tokens.append((m.lastgroup, m.group()))
    if "$" in text:
        errors.append("unresolved dashboard variable (only $__rate_interval, $__interval, $__range are known)")
    uses: list[Use] = []
    groupings: list[tuple[str, set[str]]] = []
    functions: set[str] = set()
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "ident" and value in GROUPING:
            if nxt[1] == "(":
                j = i + 2
                names = set()
                while j < len(tokens) and tokens[j][1] != ")":
                    if tokens[j][0] == "ident":
                        names.add(tokens[j][1])
                    j += 1
                groupings.append((value, names))
                i = j + 1
                continue
            i += 1
            continue
        if kind == "ident" and value in AGGREGATORS | KEYWORDS:
            functions.add(value)
            i += 1
            continue
        if kind == "ident" and nxt[1] == "(":
            functions.add(value)
            i += 1
            continue
        if kind == "ident":
            matchers: set[str] = set()
            if nxt[0] == "braces":
                matchers = {mm.group(1) for mm in MATCHER.finditer(nxt[1])}
            prev2 = tokens[i - 2] if i >= 2 else ("", "")
            prev1 = tokens[i - 1] if i >= 1 else ("", "")
            wrapped = prev2[1] if prev1[1] == "(" and prev2[0] == "ident" else None
            uses.append(Use(value, matchers, wrapped))
        elif kind == "braces" and (i == 0 or tokens[i - 1][0] != "ident"):
            errors.append(f"selector without a metric name: {value}")
        i += 1
    raw_ok = any(RAW_COUNTER_OK in c for c in comments)
    return Parsed(uses, groupings, functions, errors, raw_ok)


def check(expr: Expr, known: dict[str, Family]) -> tuple[list[str], list[str]]:
    """(problems, notes) of one expression."""
    p = parse(expr.text)
    problems = list(p.errors)
    notes: list[str] = []
    if not p.uses:
        problems.append("no metric in the expression")
    labels_here = set(SCRAPE_LABELS)
    for u in p.uses:
        fam = known.get(u.metric)
        if fam is None and u.metric in SYNTHETIC:
            fam = Family("gauge", set(SYNTHETIC[u.metric]), "Prometheus")
        if fam is None:
            problems.append(f"{u.metric}: not exported (absent from every scrape and not declared)")
            continue
        if fam.origin != "scrape":
            notes.append(f"{u.metric}: {fam.origin}")
        labels_here |= fam.labels
        unknown = u.matchers - fam.labels - SCRAPE_LABELS - {"__name__"}
        if unknown:
            problems.append(f"{u.metric}: no label {sorted(unknown)} (it has {sorted(fam.labels)})")
        series_of_counter = u.metric.endswith(("_bucket", "_sum", "_count")) or fam.kind == "counter"
        if series_of_counter and u.wrapped_by not in COUNTER_FUNCS and not p.raw_counter_ok:
            problems.append(f"{u.metric}: a {fam.kind} series used without rate()/increase()")
        if fam.kind == "gauge" and u.wrapped_by in {"rate", "increase", "irate"}:
            problems.append(f"{u.metric}: {u.wrapped_by}() of a gauge")
        if u.metric.endswith("_bucket"):
            if "histogram_quantile" not in p.functions:
                problems.append(f"{u.metric}: bucket series outside histogram_quantile()")
            for kw, names in p.groupings:
                if kw == "by" and "le" not in names:
                    problems.append(f"{u.metric}: aggregated by {sorted(names)} without le")
                if kw == "without" and "le" in names:
                    problems.append(f"{u.metric}: aggregated without le")
    for kw, names in p.groupings:
        missing = names - labels_here - ({"le"} if any(u.metric.endswith("_bucket") for u in p.uses) else set())
        if missing:
            problems.append(f"{kw} ({', '.join(sorted(missing))}): on none of the metrics here")
    return problems, sorted(set(notes))


# --- a real Prometheus ------------------------------------------------------------


def prom_get(base: str, path: str, **params) -> dict:
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=15) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400/422 carry the PromQL error as JSON
        return json.load(e)


def evaluate(base: str, exprs: list[Expr]) -> list[str]:
    problems = []
    nonempty = 0
    for e in exprs:
        answer = prom_get(base, "/api/v1/query", query=substitute(e.text))
        if answer.get("status") != "success":
            problems.append(f"{e.where}: Prometheus cannot evaluate it: {answer.get('error')}")
            continue
        if answer["data"]["result"]:
            nonempty += 1
    print(f"prometheus: {len(exprs)} expressions evaluated without error, {nonempty} with data now")
    return problems


def rules_healthy(base: str, rule_names: list[str]) -> list[str]:
    answer = prom_get(base, "/api/v1/rules")
    rules = [r for g in answer.get("data", {}).get("groups", []) for r in g.get("rules", [])]
    loaded = {r["name"]: r for r in rules}
    problems = [f"rule {n}: not loaded by Prometheus" for n in rule_names if n not in loaded]
    for r in rules:
        if r.get("health") != "ok":
            problems.append(f"rule {r['name']}: health {r.get('health')} {r.get('lastError', '')}".rstrip())
    if not problems:
        print(f"prometheus: {len(rules)} alert rules loaded, every one evaluated without error")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--scrape", action="append", required=True, help="a /metrics URL (repeatable)")
    ap.add_argument("--declared-in", action="append", default=[], help="Rust file whose registered metrics are allowed without a sample")
    ap.add_argument("--prometheus", help="base URL of a Prometheus that scrapes the same processes")
    args = ap.parse_args()

    known: dict[str, Family] = {}
    for path in args.declared_in:
        known.update(declared(path))
    scraped: dict[str, Family] = {}
    for url in args.scrape:
        for name, fam in scrape(url).items():
            scraped.setdefault(name, Family(fam.kind)).labels |= fam.labels
    known.update(scraped)
    agusto = sorted({re.sub(r"_(bucket|sum|count)$", "", n) for n in scraped if n.startswith("agusto_")})
    print(f"scraped {len(args.scrape)} endpoint(s): {len(agusto)} agusto metric families with samples")

    rules = rule_exprs(args.rules)
    exprs = dashboard_exprs(args.dashboard) + [Expr(f"rule {n}", t) for n, t in rules]
    failures = 0
    used: set[str] = set()
    for e in exprs:
        problems, notes = check(e, known)
        used |= {u.metric for u in parse(e.text).uses}
        status = "FAIL" if problems else "ok  "
        print(f"{status} {e.where}" + (f"  [{'; '.join(notes)}]" if notes else ""))
        for pr in problems:
            print(f"       - {pr}")
        failures += bool(problems)

    families_used = {re.sub(r"_(bucket|sum|count)$", "", m) for m in used}
    unused = [f for f in agusto if f not in families_used]
    if unused:
        print(f"note: exported but on no panel or rule: {', '.join(unused)}")

    if args.prometheus:
        for pr in evaluate(args.prometheus, exprs) + rules_healthy(args.prometheus, [n for n, _ in rules]):
            print(f"FAIL {pr}")
            failures += 1

    print(f"dashboard and rules check: {len(exprs)} expressions, {failures} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
