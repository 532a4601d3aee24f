"""The conditions on the ticket's transitions: side-effect free, and the one
source of the ``missing_steps`` shown to users.

Two sorts: a *kind rule* decides whether a transition applies to a ticket at
all (an apology is for mishaps only); a *prerequisite* names a step that must
happen first (``missing_step``).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickets import hooks

if TYPE_CHECKING:
    from tickets.models.ticket import Ticket

# Typed Any: django-fsm declares conditions as taking any Model.
Condition = Callable[[Any], bool]


def kind_rule(func: Callable[[Any], bool]) -> Callable[[Any], bool]:
    func.kind_rule = True  # type: ignore[attr-defined]
    return func


def is_kind_rule(condition: Any) -> bool:
    return bool(getattr(condition, "kind_rule", False))


@kind_rule
def is_mishap(ticket: Any) -> bool:
    return ticket.kind == "mishap"


@kind_rule
def is_question(ticket: Any) -> bool:
    return ticket.kind == "question"


def prerequisite(step: str) -> Callable[[Condition], Condition]:
    """Mark a condition with the step that satisfies it."""

    def mark(func: Condition) -> Condition:
        func.missing_step = step  # type: ignore[attr-defined]
        return func

    return mark


@prerequisite("state_our_part")
def our_part_stated(ticket: Any) -> bool:
    """A mishap's acknowledgement said what we did wrong."""
    return bool(ticket.our_part.strip())


@prerequisite("commit")
def has_open_commitment(ticket: Any) -> bool:
    """There is a promise to keep. Reads through any prefetch of commitments."""
    return any(c.fulfilled_at is None for c in ticket.commitments.all())


def nothing_blocks_resolution(ticket: Any) -> bool:
    """No other app holds the resolution back (a restitution awaiting approval)."""
    return not hooks.resolve_blockers(ticket)


def missing_steps_of(condition: Condition, ticket: "Ticket") -> list[str]:
    """The steps a failing prerequisite stands for."""
    if condition is nothing_blocks_resolution:
        return hooks.resolve_blockers(ticket)
    return [getattr(condition, "missing_step", condition.__name__)]
