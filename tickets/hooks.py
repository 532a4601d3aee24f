"""Where other apps take part in the ticket flow without tickets importing them.

``recovery`` registers its functions here from its ``AppConfig.ready``:

- a *resolve guard* returns the steps that hold a resolution back (for example
  ``settle_pending_approvals`` while a restitution awaits a supervisor); it must
  only read;
- a *detail section* adds a member to the ticket's detail (its restitutions,
  the customer's trust), with the prefetch or the annotations that keep the
  detail at a fixed number of queries;
- a *lifecycle hook* runs inside the transition's transaction, after the
  ticket is saved (for example, scheduling follow-ups on resolution or
  cancelling them on reopen). It raising rolls the transition back.
  ``mishap_opened`` runs when a mishap is opened, or a question becomes
  one (after the repeat-failure check), for example to alert the
  supervisors when the customer's trust was already at risk.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from accounts.models import User
    from tickets.models import Ticket

ResolveGuard = Callable[["Ticket"], list[str]]
DetailRender = Callable[["Ticket"], Any]
LifecycleEvent = Literal["resolved", "reopened", "restored", "closed", "mishap_opened"]
LifecycleHook = Callable[["Ticket", "User | None"], object]

_resolve_guards: list[ResolveGuard] = []
_detail_sections: dict[str, tuple[Any, DetailRender, Any]] = {}
_detail_annotations: dict[str, Callable[[], dict[str, Any]]] = {}
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


def register_detail_section(
    name: str,
    *,
    render: DetailRender,
    prefetch: Any = None,
    annotations: Callable[[], dict[str, Any]] | None = None,
    schema: Callable[[], Any] | None = None,
) -> None:
    """``prefetch`` (a lookup or ``Prefetch``) or ``annotations`` (a function
    returning the ticket query's annotations, built afresh for each query)
    read what ``render`` needs with the ticket. ``schema`` returns what
    describes ``render``'s result in the OpenAPI schema (a serializer
    instance, such as ``RestitutionSerializer(many=True)``).
    Called only when the API's serializers are built: importing DRF's
    serializers costs every process that starts Django (the MTA pipe, the
    worker) some 80 ms, and they never describe the API."""
    _detail_sections[name] = (prefetch, render, schema)
    if annotations is not None:
        _detail_annotations[name] = annotations


def detail_prefetches() -> list[Any]:
    return [prefetch for prefetch, _, _ in _detail_sections.values() if prefetch is not None]


def detail_annotations() -> dict[str, Any]:
    annotations: dict[str, Any] = {}
    for build in _detail_annotations.values():
        annotations.update(build())
    return annotations


def detail_section_names() -> list[str]:
    return list(_detail_sections)


def detail_section_schema(name: str) -> Any:
    schema = _detail_sections[name][2]
    return schema() if schema is not None else None


def render_detail_section(name: str, ticket: "Ticket") -> Any:
    return _detail_sections[name][1](ticket)
