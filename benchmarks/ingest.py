"""City-server ingest: messages/s stored with 1, 2 and 4 ingesters, and publish -> committed latency.

Everything real and local: a Mosquitto on a free loopback port, a throwaway PostgreSQL cluster
with fsync on (tests/city/postgres.py), the device's own payloads (tests/city/simulator.py).

1. Throughput: N `footfall ingest` processes in one shared-subscription group (N = 1, 2, 4), a
   fresh database each; `--messages` counts messages (200 devices, 15-minute intervals) published
   as fast as one client can; messages/s = messages / (first publish -> last row committed,
   polled every 20 ms).
2. Latency: one ingester in this process (its batch callback runs right after the commit and
   the PUBACKs), messages published at a steady `--rate`; latency = publish -> callback, p50/p95/max.

    python -m benchmarks.ingest [--messages N] [--rate PER_S] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.clips import PROJECT_ROOT, machine_line, write_section
from edge.city.ingest import IngestOptions, MqttIngester
from edge.city.messages import MessageParser
from edge.city.migrate import apply_migrations
from edge.city.records import InboundMessage, IntervalRecord
from edge.city.store import PostgresStore
from tests.city.ingesters import IngesterProcess
from tests.city.postgres import PostgresServer
from tests.city.simulator import PREFIX, FleetPublisher, counts_payload, device_name, topics_of
from tests.integration.deliver.mosquitto import MosquittoBroker

DEVICES = 200
INGESTER_COUNTS = (1, 2, 4)
# Seconds to wait for the last row before giving up on a run.
DRAIN_TIMEOUT_S = 300.0


def _messages(count: int, first_seq: int = 1) -> list[tuple[str, bytes, tuple[str, int]]]:
    """(topic, body, key) of `count` intervals, round-robin over the devices, rendered up front."""
    out = []
    for index in range(count):
        device, seq = device_name(index % DEVICES), first_seq + index // DEVICES
        out.append((topics_of(device).counts, counts_payload(device, seq), (device, seq)))
    return out


def _stored(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM interval").fetchone()
    return 0 if row is None else int(row[0])


def _migrated_database(server: PostgresServer, name: str) -> str:
    url = server.create_database(name)
    with psycopg.connect(url) as connection:
        apply_migrations(connection)
    return url


def throughput(
    server: PostgresServer, broker: MosquittoBroker, folder: Path, ingesters: int, count: int
) -> dict[str, float]:
    """Messages/s stored by `ingesters` processes."""
    url = _migrated_database(server, f"throughput_{ingesters}")
    processes = [
        IngesterProcess(
            folder / f"run-{ingesters}", url, broker.port, f"bench-{ingesters}-{index}", group=f"g{ingesters}"
        )
        for index in range(ingesters)
    ]
    for process in processes:
        process.start()
    messages = _messages(count)
    fleet = FleetPublisher(broker.port, client_id=f"bench-fleet-{ingesters}")
    try:
        started = time.perf_counter()
        for topic, body, _ in messages:
            fleet.publish(topic, body)
        fleet.flush(timeout_s=DRAIN_TIMEOUT_S)
        published_s = time.perf_counter() - started
        while _stored(url) < count:
            if time.perf_counter() - started > DRAIN_TIMEOUT_S:
                raise RuntimeError(f"only {_stored(url)} of {count} stored with {ingesters} ingester(s)")
            time.sleep(0.02)
        elapsed_s = time.perf_counter() - started
    finally:
        fleet.close()
        for process in processes:
            process.stop()
    return {"messages": count, "seconds": round(elapsed_s, 2), "per_s": round(count / elapsed_s),
            "publish_per_s": round(count / published_s)}  # fmt: skip


def latency(
    server: PostgresServer, broker: MosquittoBroker, count: int, rate_per_s: float
) -> dict[str, float]:
    """Publish -> committed-and-acknowledged, for messages published at a steady rate."""
    url = _migrated_database(server, "latency")
    committed: dict[tuple[str, int], float] = {}
    done = threading.Event()

    def on_batch(batch: list[InboundMessage]) -> None:
        now = time.perf_counter()
        for message in batch:
            if isinstance(message.parsed, IntervalRecord):
                committed.setdefault((message.parsed.device_id, message.parsed.seq), now)
        if len(committed) >= count:
            done.set()

    options = IngestOptions("127.0.0.1", broker.port, PREFIX, "latency", "bench-latency")
    parser = MessageParser(PREFIX, max_payload_bytes=1 << 20, now=lambda: datetime.now(UTC))
    store = PostgresStore(url)
    ingester = MqttIngester(options, parser, store, on_batch=on_batch)
    stop = threading.Event()
    runner = threading.Thread(target=ingester.run, args=(stop,), name="ingester")
    runner.start()
    time.sleep(1.0)  # connected and subscribed (a local broker answers in milliseconds)
    fleet = FleetPublisher(broker.port, client_id="bench-fleet-latency")
    published: dict[tuple[str, int], float] = {}
    try:
        first = time.perf_counter()
        for index, (topic, body, key) in enumerate(_messages(count)):
            time.sleep(max(0.0, first + index / rate_per_s - time.perf_counter()))
            published[key] = time.perf_counter()
            fleet.publish(topic, body)
        fleet.flush()
        if not done.wait(DRAIN_TIMEOUT_S):
            raise RuntimeError(f"only {len(committed)} of {count} committed")
    finally:
        fleet.close()
        stop.set()
        runner.join()
    latencies_ms = sorted(1000 * (committed[key] - published[key]) for key in published)
    quantiles = statistics.quantiles(latencies_ms, n=100)
    return {"messages": count, "rate_per_s": rate_per_s, "p50_ms": round(quantiles[49], 1),
            "p95_ms": round(quantiles[94], 1), "max_ms": round(latencies_ms[-1], 1)}  # fmt: skip


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        "## City-server ingest (`benchmarks/ingest.py`)",
        "",
        f"Measured {result['machine']}; PostgreSQL {result['postgres']} (fsync on), Mosquitto on loopback, "
        "ingesters, broker, database and publisher all on this machine.",
        "",
        "| ingesters | messages | seconds | stored/s | published/s |",
        "|---|---|---|---|---|",
    ]
    for ingesters, run in result["throughput"].items():
        cells = (ingesters, run["messages"], run["seconds"], run["per_s"], run["publish_per_s"])
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    run = result["latency"]
    lines += [
        "",
        f"Publish -> committed (one ingester, {run['messages']} messages at {run['rate_per_s']:g}/s): "
        f"p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, max {run['max_ms']} ms.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000, help="messages per throughput run")
    parser.add_argument("--latency-messages", type=int, default=1000, help="messages in the latency run")
    parser.add_argument("--rate", type=float, default=100.0, help="messages/s in the latency run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    server = PostgresServer(fsync=True)
    server.start()
    with tempfile.TemporaryDirectory(dir=PROJECT_ROOT / "benchmarks") as name:
        folder = Path(name)
        (folder / "broker").mkdir()
        broker = MosquittoBroker(folder / "broker")
        with broker.config.open("a") as config:
            config.write("max_queued_messages 0\n")
        broker.start()
        try:
            with psycopg.connect(server.url()) as connection:
                version = connection.execute("SHOW server_version").fetchone()
            result = {
                "machine": machine_line(),
                "postgres": None if version is None else str(version[0]).split()[0],
                "throughput": {
                    n: throughput(server, broker, folder, n, args.messages) for n in INGESTER_COUNTS
                },
                "latency": latency(server, broker, args.latency_messages, args.rate),
            }
        finally:
            broker.stop()
            server.destroy()
    markdown = to_markdown(result)
    write_section("ingest", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
