"""A delivering process for the kill tests: outbox + MQTT publisher + Delivery, fed synthetic intervals.

    python -m tests.integration.deliver.deliver_runner --db PATH --port N --count N [--first-index I]
        [--pace-s S] [--protocol 3.1.1|5] [--keepalive-s S] (--linger | --wait-delivered)

Submits `count` intervals at `pace_s` apart (as a counting loop would), printing `submitted <seq>`
after each; then either lingers until killed, or waits until the outbox is empty and stops cleanly.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--first-index", type=int, default=0)
    parser.add_argument("--pace-s", type=float, default=0.0)
    parser.add_argument("--protocol", choices=[protocol.value for protocol in MqttProtocol], default="5")
    parser.add_argument("--keepalive-s", type=int, default=2)
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


if __name__ == "__main__":
    sys.exit(main())
