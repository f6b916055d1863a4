"""Delivery cost: outbox throughput with durable commits, and end-to-end latency to a local broker.

1. Outbox (SQLite, WAL, synchronous=FULL, a temporary file on the project's disk): rows/s of
   `enqueue` (one fsync'd transaction each), `mark_delivered` one by one and in batches of 100.
2. Latency: a Delivery publishing to a local Mosquitto (started here on a free loopback port) and
   a subscriber in this process; one interval submitted every 20 ms; latency = submit -> the
   subscriber's on_message, p50/p95/max.
3. Backlog drain: rows queued while "offline", then delivered through the in-flight window:
   messages/s until the subscriber has them all (how fast an outage is caught up).

    python -m benchmarks.delivery [--rows N] [--messages N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.clips import PROJECT_ROOT, machine_line, write_section
from edge.deliver import (
    Delivery,
    MqttOptions,
    MqttProtocol,
    MqttPublisher,
    PayloadRenderer,
    SqliteOutbox,
    Topics,
)
from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber
from tests.unit.deliver.deliver_samples import sample_interval

DEVICE, SITE = "bench-1", "bench"
# Seconds between submits in the latency run: far apart, so each message travels alone.
LATENCY_PACE_S = 0.02


def outbox_throughput(folder: Path, rows: int) -> dict[str, float]:
    """Rows per second of the durable outbox operations."""
    intervals = [sample_interval(index) for index in range(rows)]
    with SqliteOutbox(folder / "throughput.sqlite3", device_id=DEVICE) as outbox:
        started = time.perf_counter()
        seqs = [outbox.enqueue(interval) for interval in intervals]
        enqueue_s = time.perf_counter() - started
        half = rows // 2
        started = time.perf_counter()
        for seq in seqs[:half]:
            outbox.mark_delivered(seq)
        mark_one_s = time.perf_counter() - started
        started = time.perf_counter()
        for offset in range(half, rows, 100):
            outbox.mark_delivered_many(seqs[offset : offset + 100])
        mark_batch_s = time.perf_counter() - started
    return {
        "enqueue_rows_per_s": rows / enqueue_s,
        "mark_delivered_rows_per_s": half / mark_one_s,
        "mark_delivered_batch100_rows_per_s": (rows - half) / mark_batch_s,
    }


def _delivery(outbox: SqliteOutbox, port: int, window: int = 20) -> Delivery:
    options = MqttOptions(
        "127.0.0.1", port, Topics("footfall", SITE, DEVICE), protocol=MqttProtocol.V5, keepalive_s=10
    )
    return Delivery(outbox, MqttPublisher(options), PayloadRenderer(DEVICE, SITE), window=window)


def latency(folder: Path, broker: MosquittoBroker, messages: int) -> dict[str, float]:
    """Submit -> subscriber latency in milliseconds, one message at a time."""
    subscriber = RecordingSubscriber(broker.port, client_id="bench-latency").start()
    submitted_s: dict[int, float] = {}
    with SqliteOutbox(folder / "latency.sqlite3", device_id=DEVICE) as outbox:
        delivery = _delivery(outbox, broker.port)
        delivery.start()
        subscriber.wait_for(lambda sub: sub.statuses != [])
        for index in range(messages):
            before_s = time.monotonic()
            seq = delivery.submit(sample_interval(index))
            assert seq is not None
            submitted_s[seq] = before_s
            time.sleep(LATENCY_PACE_S)
        subscriber.wait_for(lambda sub: len(sub.seqs) == messages, timeout_s=30.0)
        delivery.stop(timeout_s=2.0)
    subscriber.stop()
    latencies_ms = sorted((subscriber.arrival_s[seq] - submitted_s[seq]) * 1000 for seq in submitted_s)
    quantiles = statistics.quantiles(latencies_ms, n=20)
    return {
        "messages": messages,
        "p50_ms": statistics.median(latencies_ms),
        "p95_ms": quantiles[18],
        "max_ms": latencies_ms[-1],
    }


def backlog_drain(folder: Path, broker: MosquittoBroker, rows: int) -> dict[str, Any]:
    """Messages per second when catching up `rows` queued intervals through a window of 20."""
    subscriber = RecordingSubscriber(broker.port, client_id="bench-drain").start()
    with SqliteOutbox(folder / "drain.sqlite3", device_id=DEVICE) as outbox:
        for index in range(rows):
            outbox.enqueue(sample_interval(index))
        delivery = _delivery(outbox, broker.port)
        started = time.monotonic()
        delivery.start()
        subscriber.wait_for(lambda sub: len(sub.seqs) == rows, timeout_s=120.0)
        elapsed_s = time.monotonic() - started
        delivery.stop(timeout_s=5.0)
    subscriber.stop()
    in_order = subscriber.seqs == sorted(subscriber.seqs) and len(subscriber.seqs) == rows
    return {"rows": rows, "messages_per_s": rows / elapsed_s, "in_order": in_order}


def to_markdown(result: dict[str, Any]) -> str:
    outbox, latency_ms, drain = result["outbox"], result["latency"], result["drain"]
    order = "in order" if drain["in_order"] else "NOT in order"
    return "\n".join(
        [
            "## Delivery (`benchmarks/delivery.py`)",
            "",
            f"Measured {result['machine']}. SQLite {result['sqlite']}, WAL, synchronous=FULL, on the "
            "project's disk (a VM disk: fsync is far slower on an SD card).",
            "",
            "| outbox operation | rows/s |",
            "|---|---|",
            f"| enqueue (one durable transaction each) | {outbox['enqueue_rows_per_s']:.0f} |",
            f"| mark_delivered, one by one | {outbox['mark_delivered_rows_per_s']:.0f} |",
            f"| mark_delivered_many, batches of 100 | {outbox['mark_delivered_batch100_rows_per_s']:.0f} |",
            "",
            f"End-to-end latency, submit -> subscriber on a local Mosquitto, MQTT 5, QoS 1, "
            f"{latency_ms['messages']} messages one at a time: p50 {latency_ms['p50_ms']:.1f} ms, "
            f"p95 {latency_ms['p95_ms']:.1f} ms, max {latency_ms['max_ms']:.1f} ms.",
            "",
            f"Backlog catch-up after an outage ({drain['rows']} queued intervals, window 20): "
            f"{drain['messages_per_s']:.0f} messages/s, {order}.",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows for the outbox and drain runs")
    parser.add_argument("--messages", type=int, default=300, help="messages for the latency run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=PROJECT_ROOT / "benchmarks") as name:
        folder = Path(name)
        (folder / "broker").mkdir()
        broker = MosquittoBroker(folder / "broker")
        broker.start()
        try:
            result = {
                "machine": machine_line(),
                "sqlite": sqlite3.sqlite_version,
                "outbox": outbox_throughput(folder, args.rows),
                "latency": latency(folder, broker, args.messages),
                "drain": backlog_drain(folder, broker, args.rows),
            }
        finally:
            broker.stop()
    markdown = to_markdown(result)
    write_section("delivery", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
