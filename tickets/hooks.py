"""Where other apps take part in the ticket flow without tickets importing them.

``recovery`` registers its functions here from its ``AppConfig.ready``:

- a *resolve guard* returns the steps that hold a resolution back (for example
  ``settle_pending_approvals`` while a restitution awaits a supervisor); it must
  only read;
- a *lifecycle hook* runs inside the transition's transaction, after the
  ticket is saved (for example, scheduling follow-ups on resolution or
  cancelling them on reopen). It raising rolls the transition back.
  ``mishap_opened`` runs when a mishap is opened, or a question becomes
  one (after the repeat-failure check), for example to alert the
  supervisors when the customer's trust was already at risk.

What recovery adds to the ticket's API detail (its restitutions, the
customer's trust) is no hook: ``recovery.api.ticket_detail`` declares that
detail, and ``helpdesk.api.urls`` serves the ticket endpoints with it.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from accounts.models import User
    from tickets.models import Ticket

ResolveGuard = Callable[["Ticket"], list[str]]
LifecycleEvent = Literal["resolved", "reopened", "restored", "closed", "mishap_opened"]
LifecycleHook = Callable[["Ticket", "User | None"], object]

_resolve_guards: list[ResolveGuard] = []
_lifecycle_hooks: dict[str, list[LifecycleHook]] = {}


def register_resolve_guard(guard: ResolveGuard) -> None:
    if guard not in _resolve_guards:
        _resolve_guards.append(guard)


def register_lifecycle_hook(event: LifecycleEvent, hook: LifecycleHook) -> None:
    hooks = _lifecycle_hooks.setdefault(event, [])
    if hook not in hooks:
        hooks.append(hook)


def resolve_blockers(ticket: "Ticket") -> list[str]:
    return [step for guard in _resolve_guards for step in guard(ticket)]


def run_lifecycle_hooks(event: LifecycleEvent, ticket: "Ticket", actor: "User | None") -> None:
    for hook in _lifecycle_hooks.get(event, []):
        hook(ticket, actor)
