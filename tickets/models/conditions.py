"""The conditions on the ticket's transitions: side-effect free, and the one
source of the ``missing_steps`` shown to users.

Two sorts: a *kind rule* decides whether a transition applies to a ticket at
all (an apology is for mishaps only); a *prerequisite* names a step that must
happen first (``missing_step``).
"""

from collections.abc import Callable, Iterable
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


def held_back_by(find: Callable[[Any], list[str]]) -> Callable[[Condition], Condition]:
    """Mark a condition whose missing steps are found at the time (what
    another app holds back). They belong on the checklist as soon as the
    ticket is on its way to the transition, not only once it gets there."""

    def mark(func: Condition) -> Condition:
        func.find_missing_steps = find  # type: ignore[attr-defined]
        return func

    return mark


@held_back_by(hooks.resolve_blockers)
def nothing_blocks_resolution(ticket: Any) -> bool:
    """No other app holds the resolution back (a restitution awaiting approval)."""
    return not hooks.resolve_blockers(ticket)


def missing_steps_of(condition: Condition, ticket: "Ticket") -> list[str]:
    """The steps a failing prerequisite stands for."""
    find = getattr(condition, "find_missing_steps", None)
    if find is not None:
        return list(find(ticket))
    return [getattr(condition, "missing_step", condition.__name__)]


def held_back_steps(conditions: Iterable[Condition], ticket: "Ticket") -> list[str]:
    """What the conditions marked ``held_back_by`` hold back now, whatever
    the ticket's status."""
    return [
        step
        for condition in conditions
        if getattr(condition, "find_missing_steps", None) is not None
        for step in missing_steps_of(condition, ticket)
    ]
