"""A delivering process for the kill tests: outbox + MQTT publisher + Delivery, fed synthetic intervals.

    python -m tests.integration.deliver.deliver_runner --db PATH --port N --count N [--first-index I]
        [--pace-s S] [--protocol 3.1.1|5] [--keepalive-s S] (--linger | --wait-delivered)
    python -m tests.integration.deliver.deliver_runner --db PATH --port N --slot-s S
        [--die-after-commit K] --linger

Submits `count` intervals at `pace_s` apart (as a counting loop would), printing `submitted <seq>`
after each; then either lingers until killed, or waits until the outbox is empty and stops cleanly.

With `--slot-s`, it is a device on the wall clock instead (the fault runs): every `slot_s` seconds
it submits the interval of the slot that just ended (index = UTC epoch seconds // slot_s, so a
restarted device carries on with the current slot), printing `slot <index> <seq>`; with
`--die-after-commit K` it SIGKILLs itself right after its K-th commit, before it is published.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from edge.deliver import (
    Delivery,
    MqttOptions,
    MqttProtocol,
    MqttPublisher,
    PayloadRenderer,
    SqliteOutbox,
    Topics,
)
from tests.unit.deliver.deliver_samples import sample_interval

DEVICE = "cam-1"
SITE = "main-street"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--first-index", type=int, default=0)
    parser.add_argument("--pace-s", type=float, default=0.0)
    parser.add_argument("--protocol", choices=[protocol.value for protocol in MqttProtocol], default="5")
    parser.add_argument("--keepalive-s", type=int, default=2)
    parser.add_argument("--slot-s", type=float, default=None)
    parser.add_argument("--die-after-commit", type=int, default=None)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--linger", action="store_true")
    mode.add_argument("--wait-delivered", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)

    options = MqttOptions(
        "127.0.0.1",
        args.port,
        Topics("footfall", SITE, DEVICE),
        protocol=MqttProtocol(args.protocol),
        keepalive_s=args.keepalive_s,
        reconnect_min_delay_s=1,
        reconnect_max_delay_s=1,
    )
    with SqliteOutbox(args.db, device_id=DEVICE) as outbox:
        delivery = Delivery(outbox, MqttPublisher(options), PayloadRenderer(DEVICE, SITE), window=10)
        delivery.start()
        if args.slot_s is not None:
            run_on_the_clock(delivery, args.slot_s, args.die_after_commit)
        for index in range(args.first_index, args.first_index + args.count):
            seq = delivery.submit(sample_interval(index))
            sys.stdout.write(f"submitted {seq}\n")
            sys.stdout.flush()
            time.sleep(args.pace_s)
        if args.linger:
            while True:
                time.sleep(1.0)
        while (stats := outbox.stats()).backlog_rows:
            time.sleep(0.02)
        delivery.stop(timeout_s=5.0)
        sys.stdout.write(f"delivered up to {stats.last_seq}\n")
    return 0


def run_on_the_clock(delivery: Delivery, slot_s: float, die_after_commit: int | None) -> None:
    """Submit the interval of every slot as it ends, for ever (until killed)."""
    index = int(time.time() // slot_s)
    sys.stdout.write(f"started {index}\n")
    sys.stdout.flush()
    commits = 0
    while True:
        time.sleep(max(0.0, (index + 1) * slot_s - time.time()))
        seq = delivery.submit(sample_interval(index, length_s=slot_s, base=EPOCH))
        commits += 1
        if die_after_commit is not None and commits >= die_after_commit:
            os.kill(os.getpid(), signal.SIGKILL)  # committed, not yet published: the worst moment
        sys.stdout.write(f"slot {index} {seq}\n")
        sys.stdout.flush()
        index += 1


if __name__ == "__main__":
    sys.exit(main())
