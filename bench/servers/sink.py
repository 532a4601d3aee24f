"""The counting SMTP sink (``bench.smtp_sink``) in a process of its own,
which says how many messages it accepted once it stops."""

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.servers.processes import START_TIMEOUT, STOP_TIMEOUT, free_port, start


@dataclass
class Sink:
    port: int
    received: int | None = None  # known once the sink has stopped


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    """The counting sink of ``bench.smtp_sink`` in its own process. After the
    block, ``received`` holds how many messages it accepted in all."""
    port = free_port()
    process = start(
        "SMTP sink",
        [sys.executable, "-m", "bench.smtp_sink", str(port)],
        dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    sink = Sink(port)
    stdin, stdout = process.popen.stdin, process.popen.stdout
    if stdin is None or stdout is None:  # piped above
        raise RuntimeError("The SMTP sink has no pipes.")
    try:
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT)
        if not ready or stdout.readline().strip() != b"ready":
            raise RuntimeError("The SMTP sink did not start.")
        yield sink
    finally:
        stdin.close()  # the sink's signal to stop and report
        ready, _, _ = select.select([stdout], [], [], STOP_TIMEOUT)
        line = stdout.readline().decode() if ready else ""
        if line.startswith("received "):
            sink.received = int(line.split()[1])
        stdout.close()
        process.stop()
