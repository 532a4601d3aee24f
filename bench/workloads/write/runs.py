"""What the write workloads share: a fresh tag for a run's rows, and a cheap
count of this thread's queries."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


def _tag() -> str:
    return uuid.uuid4().hex[:8]


@contextmanager
def _counting_queries() -> Iterator[list[int]]:
    """Counts this thread's queries, cheaper than capturing them (no debug cursor)."""
    count = [0]

    def counter(execute: Callable[..., Any], *args: Any) -> Any:
        count[0] += 1
        return execute(*args)

    with connection.execute_wrapper(counter):
        yield count
