"""A service that other services also call: one entry point, whoever calls it."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")


def joins_callers_transaction(service: Callable[P, R]) -> Callable[P, R]:
    """Run ``service`` in its caller's transaction where there is one, else
    in a transaction of its own.

    Inside a caller's transaction it opens no savepoint: a savepoint is two
    more round trips for every ticket opened from inbound mail, and the
    caller's rollback undoes the service's writes anyway. Not
    ``atomic(savepoint=False)``, which marks the caller's whole transaction
    for rollback on any exception: a rule refused before anything is
    written (a ``RuleViolation``, a ``ValidationError``) leaves the caller
    free to go on, as it would after a check of its own.

    The price: an error raised after the service has written leaves those
    writes in the caller's transaction. A caller that catches such an error
    and goes on must roll back itself (every caller today lets it
    propagate: ``contact_submit``, ``case_reply``, the inbound pipeline);
    one that needs to go on past it wraps the call in ``transaction.atomic()``,
    the savepoint it then pays for."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            return service(*args, **kwargs)
        with transaction.atomic():
            return service(*args, **kwargs)

    return run
