"""The workloads, each a function ``run(context) -> Result`` registered in
``WORKLOADS`` by its module (read: the API pages, search and the trust
figures; write: grants, dispatch and ingest)."""

from collections.abc import Callable
from dataclasses import dataclass

from bench.measure import Result


@dataclass(frozen=True)
class Context:
    """What every workload gets: how hard to push, and a base URL of a live
    server when one is needed (None: use Django's test client in-process)."""

    scale: str  # "full" for the real table, "tiny" for the suite's smoke run
    repeat: int


WORKLOADS: dict[str, Callable[[Context], Result]] = {}


def workload(name: str) -> Callable[[Callable[[Context], Result]], Callable[[Context], Result]]:
    def register(run: Callable[[Context], Result]) -> Callable[[Context], Result]:
        WORKLOADS[name] = run
        return run

    return register
