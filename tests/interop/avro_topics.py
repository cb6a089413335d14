"""Reads every message on every Kafka topic with fastavro and the .avsc files alone.

Starts a Tansu broker, `agusto migrate`, `agusto worker all` and `agusto
ingest` (SQLite store), drives a short warehouse workflow over HTTP (product,
receipt, adjustment, channel, order, paid, pick, pack, complete, a cancelled
order, a short order, an order spanning stock partitions, a move to damaged,
a return received, an order of a bundle), then consumes every topic on the broker from the
beginning with confluent-kafka and decodes every value as Avro single-object
encoding with fastavro: the fingerprint in the header must be the CRC-64-AVRO
fingerprint fastavro computes from the Parsing Canonical Form of one of
schemas/avro/*.avsc (the one of the topic, for the known topics), and the
datum must decode with that schema using every byte. An independent reader
of our topics needs nothing else.

Usage: python tests/interop/avro_topics.py [--bin target/debug/agusto]
Env:   AGUSTO_TANSU (default: the broker in .venv, as scripts/test-all installs it)
"""

import argparse
import glob
import io
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

sys.dont_write_bytecode = True  # leave no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402
    CheckFailed, Processes, agusto_env, expect, start_broker, wait_until,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAGIC = b"\xc3\x01"
# The topics the processes produce to and the schema of their values.
TOPIC_SCHEMAS = {
    "agusto.stock.commands": "stock_envelope.avsc",
    "agusto.order.commands": "order_envelope.avsc",
    "agusto.replies": "reply_envelope.avsc",
}
# Topics that exist but stay empty: orders are decided by their home stock
# partitions; agusto.order.commands only carries what ingress processes of
# the previous release append during a rolling upgrade.
LEGACY_TOPICS = {"agusto.order.commands"}


def load_schemas():
    """{fingerprint bytes: (file name, parsed schema)} for every .avsc file."""
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "schemas", "avro", "*.avsc"))):
        with open(path, encoding="utf-8") as f:
            parsed = parse_schema(json.load(f))
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
        out[fp] = (os.path.basename(path), parsed)
    if set(TOPIC_SCHEMAS.values()) - {name for name, _ in out.values()}:
        raise CheckFailed("a topic's schema file is missing")
    return out


def start_cluster(procs, work, binary, token):
    """Broker, store, worker and ingress; returns (ingest URL, brokers)."""
    brokers = start_broker(procs, ROOT)
    env = agusto_env({
        "AGUSTO_KAFKA_BROKERS": brokers,
        "AGUSTO_STORE": "sqlite:" + os.path.join(work, "agusto.db"),
        "AGUSTO_DATA_DIR": work,
        "AGUSTO_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "AGUSTO_KAFKA_MAX_POLL_INTERVAL_MS": "6000",
        "AGUSTO_ORDER_WAIT_MS": "20000",
        "AGUSTO_ADMIN_TOKEN": token,
    })
    migrate = procs.start("migrate", [binary, "migrate"], env)
    if migrate.wait(timeout=60) != 0:
        raise CheckFailed("agusto migrate failed: " + procs.tail("migrate"))
    worker = procs.start("worker", [binary, "worker", "all", "--listen", "127.0.0.1:0"], env)
    worker_url = procs.base_url("worker", worker)
    ingest = procs.start("ingest", [binary, "ingest", "--listen", "127.0.0.1:0"], env)
    ingest_url = procs.base_url("ingest", ingest)

    def owns_partitions():
        with urllib.request.urlopen(worker_url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        return all(
            any(line.startswith(f'agusto_assigned_partitions{{group="{g}"}}')
                and float(line.rsplit(" ", 1)[1]) >= 1 for line in text.splitlines())
            for g in ("agusto-stock-writers", "agusto-order-writers"))

    wait_until("the worker owns stock and order partitions", 90, owns_partitions)
    wait_until("ingest /readyz", 30,
               lambda: urllib.request.urlopen(ingest_url + "/readyz", timeout=5).status == 200)
    return ingest_url, brokers


def drive_workflow(base, admin):
    """The seed workflow plus a cancel, a short order, an adjustment and an
    order whose lines span stock partitions."""
    u = base + "/api/v1"
    expect((200, 201), "PUT", f"{u}/products/AVRO-KOPI", admin, {"name": "Kopi", "active": True})
    expect(201, "POST", f"{u}/stock/receipts", admin,
           {"reference": "PO-AVRO-1", "lines": [{"product_code": "AVRO-KOPI", "quantity": 10}]})
    expect(201, "POST", f"{u}/stock/adjustments", admin,
           {"product_code": "AVRO-KOPI", "delta": -1, "reason": "avro interop"})
    channel = expect(201, "POST", f"{u}/channels", admin, {"name": "Avro Toko"})
    shop = channel["api_token"]
    order = expect(201, "POST", f"{u}/orders", shop,
                   {"external_id": "AVRO-1", "lines": [{"sku": "AVRO-KOPI", "quantity": 2}]})
    oid = order["id"]
    expect(200, "PATCH", f"{u}/orders/{oid}/paid", shop)
    expect(200, "POST", f"{u}/orders/{oid}/pick", admin)
    expect(200, "POST", f"{u}/orders/{oid}/pack", admin)
    expect(200, "POST", f"{u}/orders/{oid}/complete", admin,
           {"tracking_number": "JNE-AVRO-1", "carrier": "JNE"})
    status = expect(200, "GET", f"{u}/orders/{oid}/status", shop)
    if status["status"] != "dispatched":
        raise CheckFailed(f"order {oid} is {status['status']}, not dispatched")
    other = expect(201, "POST", f"{u}/orders", shop,
                   {"external_id": "AVRO-2", "lines": [{"sku": "AVRO-KOPI", "quantity": 1}]})
    expect(200, "POST", f"{u}/orders/{other['id']}/cancel", shop)
    expect(422, "POST", f"{u}/orders", shop,
           {"external_id": "AVRO-3", "lines": [{"sku": "AVRO-KOPI", "quantity": 1000}]})
    # An order over eight products: its lines span stock partitions, so its
    # home partition runs it as a saga (reservations carried to the other
    # partitions, their SagaAnswer records on agusto.stock.commands).
    spread = [f"AVRO-SPAN-{i}" for i in range(8)]
    for code in spread:
        expect((200, 201), "PUT", f"{u}/products/{code}", admin, {"name": code, "active": True})
    expect(201, "POST", f"{u}/stock/receipts", admin,
           {"reference": "PO-AVRO-2", "lines": [{"product_code": c, "quantity": 5} for c in spread]})
    expect(201, "POST", f"{u}/orders", shop,
           {"external_id": "AVRO-4", "lines": [{"sku": c, "quantity": 1} for c in spread]})
    # Damaged stock, a return received, and a bundle whose order line
    # carries its components.
    expect(201, "POST", f"{u}/stock/adjustments", admin,
           {"product_code": "AVRO-KOPI", "move_to_damaged": 1, "reason": "avro interop"})
    ret = expect(201, "POST", f"{u}/orders/{oid}/returns", shop,
                 {"lines": [{"sku": "AVRO-KOPI", "quantity": 2}]})
    expect(200, "POST", f"{u}/returns/{ret['id']}/receive", admin,
           {"lines": [{"product_code": "AVRO-KOPI", "restock": 1, "damaged": 1}]})
    expect((200, 201), "PUT", f"{u}/products/AVRO-GIFT", admin,
           {"name": "Gift", "active": True, "components": [
               {"product_code": "AVRO-SPAN-0", "quantity": 2},
               {"product_code": "AVRO-SPAN-1", "quantity": 1}]})
    expect(201, "POST", f"{u}/orders", shop,
           {"external_id": "AVRO-5", "lines": [{"sku": "AVRO-GIFT", "quantity": 1}]})


def read_all(brokers):
    """Every (topic, partition, offset, value) on the broker, from the beginning."""
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "avro-interop-reader",  # required by the client; never joined (assign only)
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    try:
        topics = consumer.list_topics(timeout=15).topics
        assignment, ends = [], {}
        for name, meta in sorted(topics.items()):
            if name.startswith("__"):
                continue
            for p in meta.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=15)
                if high > low:
                    assignment.append(TopicPartition(name, p, OFFSET_BEGINNING))
                    ends[(name, p)] = high
        consumer.assign(assignment)
        messages, done = [], set()
        deadline = time.monotonic() + 60
        while len(done) < len(ends):
            if time.monotonic() > deadline:
                raise CheckFailed(f"read only {len(messages)} messages within 60 s")
            m = consumer.poll(1.0)
            if m is None:
                continue
            key = (m.topic(), m.partition())
            if m.error():
                if m.error().code() != -191:  # _PARTITION_EOF
                    raise CheckFailed(f"consuming {key}: {m.error()}")
            else:
                messages.append((m.topic(), m.partition(), m.offset(), m.value()))
            if key in ends and consumer.position([TopicPartition(*key)])[0].offset >= ends[key]:
                done.add(key)
        return sorted(topics), messages
    finally:
        consumer.close()


def decode(schemas, topic, value):
    """(schema file, record) of one single-object encoded value, or CheckFailed."""
    if value is None or len(value) < 10 or value[:2] != MAGIC:
        raise CheckFailed(f"not single-object encoded: {value[:12]!r}")
    found = schemas.get(value[2:10])
    if found is None:
        raise CheckFailed(f"fingerprint {value[2:10].hex()} matches no schema file")
    name, schema = found
    if topic in TOPIC_SCHEMAS and name != TOPIC_SCHEMAS[topic]:
        raise CheckFailed(f"written with {name}, not {TOPIC_SCHEMAS[topic]}")
    body = io.BytesIO(value[10:])
    record = fastavro.schemaless_reader(body, schema, None, return_record_name=True)
    if body.tell() != len(value) - 10:
        raise CheckFailed(f"{len(value) - 10 - body.tell()} bytes left after the datum")
    return name, record


def check(brokers, schemas):
    """Decodes everything; fails on any message that does not decode."""
    topics, messages = read_all(brokers)
    counts, failures, seen = {}, [], []
    for topic, partition, offset, value in messages:
        try:
            name, record = decode(schemas, topic, value)
        except Exception as e:  # fastavro raises plain exceptions on bad data
            failures.append(f"{topic}[{partition}]@{offset}: {e}")
            continue
        counts[topic] = counts.get(topic, 0) + 1
        seen.append(json.dumps(record, default=str))
    for topic in TOPIC_SCHEMAS:
        if topic not in topics:
            failures.append(f"topic {topic} does not exist")
        elif topic in LEGACY_TOPICS:
            pass
        elif not any(t == topic for t, *_ in messages):
            failures.append(f"no message on {topic}")
    text = "\n".join(seen)
    for needle in ("PO-AVRO-1", "JNE-AVRO-1", "dev.agusto.v1.order_action.Complete",
                   "dev.agusto.v1.order_action.Cancel", "dev.agusto.v1.order_reply.Short",
                   "dev.agusto.v1.stock_command.Order", "dev.agusto.v1.stock_command.SagaAnswer",
                   "AVRO-4", "dispatched", "dev.agusto.v1.stock_command.ReturnReceipt",
                   "dev.agusto.v1.adjustment_change.MoveToDamaged",
                   '"components": [{"product_code": "AVRO-SPAN-0", "quantity": 2}'):
        if needle not in text:
            failures.append(f"no decoded message holds {needle!r}")
    for topic in sorted(counts):
        print(f"avro_topics: {topic}: {counts[topic]} messages decoded with fastavro")
    return len(messages), failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "debug", "agusto"))
    args = parser.parse_args()
    schemas = load_schemas()
    for fp, (name, _) in sorted(schemas.items(), key=lambda kv: kv[1][0]):
        print(f"avro_topics: {name}: fastavro CRC-64-AVRO fingerprint {fp.hex()}")
    work = tempfile.mkdtemp(prefix="agusto-avro-interop-")
    procs = Processes(work)
    try:
        token = "aga_avro_interop_admin_token"
        ingest, brokers = start_cluster(procs, work, os.path.abspath(args.bin), token)
        drive_workflow(ingest, token)
        total, failures = check(brokers, schemas)
    except CheckFailed as e:
        print(f"avro_topics: FAILED: {e}", file=sys.stderr)
        for name in ("worker", "ingest"):
            print(f"--- {name} ---\n{procs.tail(name)}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"avro_topics: FAILED: {len(failures)} problems in {total} messages:", file=sys.stderr)
        for f in failures[:20]:
            print("  " + f, file=sys.stderr)
        return 1
    print(f"avro_topics: all {total} messages on every topic decode with fastavro and the .avsc files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
