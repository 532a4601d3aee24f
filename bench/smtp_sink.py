"""A counting SMTP sink on 127.0.0.1, run as its own process by the
benchmarks (``python -m bench.smtp_sink PORT``).

Its own process so that the sink never competes for the benchmark's GIL:
the workload (a Celery worker) and its floor (an smtplib loop in the
benchmark's process) then meet the same server on the same terms. It prints
``ready`` once listening and, when its standard input closes (the parent is
done, or died), ``received N`` and exits: it cannot outlive the benchmark.
"""

import sys
from typing import Any

from aiosmtpd.controller import Controller


class CountingHandler:
    """Accepts every message and keeps only a count (20k bodies would be
    hundreds of MB)."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 Message accepted for delivery"


def main(port: int) -> None:
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes the pipe
    finally:
        controller.stop()
        print(f"received {handler.received}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
