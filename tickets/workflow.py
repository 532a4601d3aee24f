"""Reading the ticket's state machine: which transitions a ticket can take now
and which steps are missing before it can take another.

Everything here is derived from the transition decorators on ``Ticket`` and
their conditions; there is no second copy of the rules.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django_fsm import Transition

from tickets.models import Ticket
from tickets.models.conditions import held_back_steps, is_kind_rule, missing_steps_of

# Transitions that are steps of the recovery, in the order a user meets them.
TRANSITIONS = ("acknowledge", "apologize", "commit", "resolve", "close", "restore", "reopen")
# Transitions that undo progress: never part of a path of missing steps.
GOING_BACK = frozenset({"reopen"})


@cache
def _all_transitions() -> tuple[Transition, ...]:
    field = Ticket._meta.get_field("status")
    return tuple(field.get_all_transitions(Ticket))


def _applies(transition: Transition, ticket: Ticket) -> bool:
    """Whether the transition suits this ticket's kind at all."""
    return all(c(ticket) for c in transition.conditions if is_kind_rule(c))


def _edges(name: str, ticket: Ticket) -> Iterable[Transition]:
    return (t for t in _all_transitions() if t.name == name and _applies(t, ticket))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # False when the transition can never apply to this ticket (an apology
    # for a question): a rule, not a matter of order.
    applicable: bool
    missing_steps: tuple[str, ...]


def assess(ticket: Ticket, name: str) -> Verdict:
    """Can ``ticket`` take transition ``name`` now? If not, what comes first?"""
    candidates = list(_edges(name, ticket))
    if not candidates:
        return Verdict(allowed=False, applicable=False, missing_steps=())
    for transition in candidates:
        if transition.source == ticket.status:
            failing = [c for c in transition.conditions if not c(ticket)]
            if not failing:
                return Verdict(allowed=True, applicable=True, missing_steps=())
            steps = [step for c in failing for step in missing_steps_of(c, ticket)]
            return Verdict(allowed=False, applicable=True, missing_steps=tuple(steps))
    if name in GOING_BACK:
        # Reopening an open ticket has no "missing steps": it is simply not finished.
        return Verdict(allowed=False, applicable=True, missing_steps=())
    path = _shortest_path(ticket, targets={str(t.source) for t in candidates})
    if path is not None:
        # What other apps hold back (a pending approval) belongs on the checklist now,
        # not only once the steps before it are done.
        conditions = [c for t in candidates for c in t.conditions]
        path += [step for step in held_back_steps(conditions, ticket) if step not in path]
    return Verdict(allowed=False, applicable=True, missing_steps=tuple(path or ()))


def _shortest_path(ticket: Ticket, *, targets: set[str]) -> list[str] | None:
    """The transitions that lead from the ticket's status to one of
    ``targets``, by the ticket's kind, skipping going back (reopen)."""
    start = ticket.status
    queue: deque[tuple[str, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        state, path = queue.popleft()
        if state in targets:
            return path
        for transition in _all_transitions():
            if transition.source != state or transition.name in GOING_BACK:
                continue
            if not _applies(transition, ticket):
                continue
            target = str(transition.target)
            if target not in seen:
                seen.add(target)
                queue.append((target, [*path, transition.name]))
    return None


def available_transitions(ticket: Ticket) -> list[str]:
    """The transitions the ticket can take right now, in step order."""
    return [name for name in TRANSITIONS if assess(ticket, name).allowed]


def steps_to_resolve(ticket: Ticket) -> list[str]:
    """What is missing before the ticket can be resolved: the checklist shown
    on an open ticket. Empty once resolved or when resolving is possible."""
    if not ticket.is_open:
        return []
    return list(assess(ticket, "resolve").missing_steps)
